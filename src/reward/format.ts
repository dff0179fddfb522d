/**
 * @module reward/format — the ReSearch response format check (`validate_format` in the paper's reward):
 * balanced `<think>`, exactly one `<answer>`, every `<search>` followed by `</search>`, `<result>`, `</result>`
 * in that order, and a `\boxed{…}` inside the answer. Any failure makes the reward 0.
 */

export interface FormatCheck {
  ok: boolean;
  reason: string;
}

/** Non-overlapping occurrences of `sub` in `s` (Python `str.count`). */
export function countOccurrences(s: string, sub: string): number {
  return s.split(sub).length - 1;
}

/** Check the response text (everything after the assistant separator, EOS still attached). */
export function checkFormat(response: string): FormatCheck {
  const fail = (reason: string): FormatCheck => ({ ok: false, reason });
  const thinkOpen = countOccurrences(response, "<think>");
  const thinkClose = countOccurrences(response, "</think>");
  if (thinkOpen !== thinkClose) return fail("<think> </think> not paired");
  if (thinkOpen === 0 || thinkClose === 0) return fail("<think> or </think> not found");
  if (countOccurrences(response, "<answer>") !== 1 || countOccurrences(response, "</answer>") !== 1) {
    return fail("<answer> or </answer> not found");
  }

  // Walk the search calls left to right; each must be closed and answered by a result, in order.
  let pos = 0;
  for (;;) {
    const search = response.indexOf("<search>", pos);
    if (search === -1) break;
    const result = response.indexOf("<result>", search);
    const searchEnd = response.indexOf("</search>", search);
    const resultEnd = result === -1 ? -1 : response.indexOf("</result>", result);
    if (result === -1 || searchEnd === -1 || resultEnd === -1) return fail("search/result tags are incomplete");
    if (!(search < searchEnd && searchEnd < result && result < resultEnd)) {
      return fail("search/result tags are nested in the wrong order");
    }
    pos = resultEnd;
  }

  const answerStart = response.indexOf("<answer>");
  const answerEnd = response.indexOf("</answer>");
  if (answerStart > answerEnd) return fail("<answer> must be before </answer>");
  const answerSpan = response.slice(answerStart, answerEnd); // includes the "<answer>" tag itself
  if (!answerSpan.includes("\\boxed{") || !answerSpan.includes("}")) return fail("answer is missing \\boxed{} format");
  return { ok: true, reason: "format is correct" };
}
