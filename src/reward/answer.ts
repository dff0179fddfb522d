/**
 * @module reward/answer — answer extraction as in the ReSearch reward: the first `<answer>…</answer>` span,
 * then its last `\boxed{…}` with balanced braces (the MATH-style `last_boxed_only_string` + `remove_boxed`).
 * Quirks kept on purpose so the reward matches the original on every input:
 * - if `"\boxed "` (with a space) occurs anywhere in the span, the answer is the text after its last occurrence, up
 *   to the first `$`;
 * - `\fbox` is located when there is no `\boxed`, but then rejected (the original asserts a `\boxed{` prefix);
 * - braces are counted from the `\boxed` position and the span ends where the count first returns to 0 on a `}`.
 */

const ANSWER_RE = /<answer>([\s\S]*?)<\/answer>/;

/** Content of the first `<answer>…</answer>` (non-greedy, across newlines), or null. */
export function extractAnswerSpan(text: string): string | null {
  const m = ANSWER_RE.exec(text);
  return m ? m[1] : null;
}

/** The last `\boxed…` (or `\fbox…`) expression with balanced braces, or null (`last_boxed_only_string`). */
export function lastBoxedOnlyString(s: string): string | null {
  let idx = s.lastIndexOf("\\boxed");
  if (s.includes("\\boxed ")) {
    const parts = s.split("\\boxed ");
    return "\\boxed " + parts[parts.length - 1].split("$")[0];
  }
  if (idx < 0) {
    idx = s.lastIndexOf("\\fbox");
    if (idx < 0) return null;
  }
  let open = 0;
  for (let i = idx; i < s.length; i++) {
    const ch = s[i];
    if (ch === "{") open++;
    if (ch === "}") {
      open--;
      if (open === 0) return s.slice(idx, i + 1);
    }
  }
  return null;
}

/** Strip `\boxed{…}` / `\boxed ` to its content; null where the original's asserts would fail (`remove_boxed`). */
export function removeBoxed(s: string): string | null {
  if (s.includes("\\boxed ")) {
    return s.startsWith("\\boxed ") ? s.slice("\\boxed ".length) : null;
  }
  const left = "\\boxed{";
  if (!s.startsWith(left) || !s.endsWith("}")) return null;
  return s.slice(left.length, -1);
}

/**
 * The prediction of a ReSearch response: the last `\boxed{…}` content of the first `<answer>` span, or null
 * when there is no answer span or no usable `\boxed`. Pass the response only (not the prompt).
 */
export function extractAnswer(response: string): string | null {
  const span = extractAnswerSpan(response);
  if (span === null) return null;
  const boxed = lastBoxedOnlyString(span);
  return boxed === null ? null : removeBoxed(boxed);
}
