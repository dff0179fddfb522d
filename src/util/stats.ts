/** @module util/stats — the mean and the sample standard deviation of a list of numbers. */

/** The arithmetic mean; 0 for an empty list. */
export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** The sample standard deviation (Bessel's n − 1); 0 for fewer than two numbers. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
