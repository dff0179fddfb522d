/** @module util/hash — FNV-1a (32-bit) over a string, seeded: the per-item and per-step seeds of rollouts and training. */

/**
 * FNV-1a of `text` from the offset basis xor `seed`: one round per code point (`for…of`), mixing the code point's
 * first UTF-16 unit. Returns an unsigned 32-bit integer.
 */
export function fnv1a(seed: number, text: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h >>> 0;
}
