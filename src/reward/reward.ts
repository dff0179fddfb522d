/**
 * @module reward/reward — the ReSearch rule-based reward (arXiv 2503.19470, §2.3; `compute_score` in the
 * authors' `re_search` reward module): 0 for a bad format or a rollout cut by the length limit, else the max
 * token-F1 of the `\boxed{}` answer over the gold answers, or 0.1 when that F1 is 0 (right format, wrong answer).
 */
import { extractAnswerSpan, lastBoxedOnlyString, removeBoxed } from "./answer.js";
import { checkFormat } from "./format.js";
import { tokenF1, type Golds } from "./metrics.js";

export { checkFormat, type FormatCheck } from "./format.js";
export { extractAnswer, extractAnswerSpan, lastBoxedOnlyString, removeBoxed } from "./answer.js";

/** Instruct (chat-template) separator, tried first; base models use `Assistant:`. */
export const INSTRUCT_SEPARATOR = "<|im_start|>assistant\n";
export const BASE_SEPARATOR = "Assistant:";
/** Reward for a well-formed response whose answer has no token overlap with any gold. */
export const FORMAT_ONLY_REWARD = 0.1;

export interface RewardInput {
  /** Full decoded text: prompt + response, special tokens kept. */
  solution: string;
  goldenAnswers: Golds;
  /** EOS token text, e.g. `<|im_end|>` (instruct) or `<|endoftext|>` (base). */
  eosToken: string;
}

export interface RewardResult {
  reward: number;
  reason: string;
  /** The extracted `\boxed{}` content when extraction got that far, else null. */
  prediction: string | null;
}

/**
 * The response: text after the first `<|im_start|>assistant\n` if present, else after the first `Assistant:`,
 * up to a second occurrence of that separator (Python `str.split(sep)[1]`). Null when the separator is absent
 * (the original raises IndexError there).
 */
export function splitResponse(solution: string): string | null {
  const sep = solution.includes(INSTRUCT_SEPARATOR) ? INSTRUCT_SEPARATOR : BASE_SEPARATOR;
  const parts = solution.split(sep);
  return parts.length > 1 ? parts[1] : null;
}

/** Python's `str(float)` for the reason text: `1.0`, `0.5`, `0.6666666666666666`. */
function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

export function computeReward(input: RewardInput): RewardResult {
  // 1) the response only: never parse the prompt
  const response = splitResponse(input.solution);
  if (response === null) {
    return { reward: 0, reason: `no response separator (${JSON.stringify(INSTRUCT_SEPARATOR)} or "${BASE_SEPARATOR}")`, prediction: null };
  }
  return computeResponseReward(response, input.goldenAnswers, input.eosToken);
}

/** Steps 2–5 of `computeReward` for callers that already hold the response text alone (used as is, never split). */
export function computeResponseReward(response: string, goldenAnswers: Golds, eosToken: string): RewardResult {
  // 2) format
  const format = checkFormat(response);
  if (!format.ok) return { reward: 0, reason: `bad format: ${format.reason}`, prediction: null };
  // 3) EOS: a response without it was cut by the length limit. An empty EOS strips everything, as `s[:-0]` does.
  if (!response.endsWith(eosToken)) return { reward: 0, reason: "over length", prediction: null };
  const stripped = eosToken.length > 0 ? response.slice(0, -eosToken.length) : "";
  // 4) answer
  const span = extractAnswerSpan(stripped);
  if (span === null) return { reward: 0, reason: "cannot extract answer", prediction: null };
  const boxed = lastBoxedOnlyString(span);
  const prediction = boxed === null ? null : removeBoxed(boxed);
  if (prediction === null) {
    return { reward: 0, reason: `find box error: ${boxed === null ? "no \\boxed{} with balanced braces" : `not a \\boxed{}: ${boxed}`}`, prediction: null };
  }
  // 5) score
  const f1 = tokenF1(prediction, goldenAnswers);
  if (f1 > 0) return { reward: f1, reason: `correct answer, get f1 score: ${pyFloat(f1)}`, prediction };
  return { reward: FORMAT_ONLY_REWARD, reason: `wrong answer but good format: ${prediction}`, prediction };
}
