/** @module reward/testdata/r1searcher — turn an R1-Searcher trace into a ReSearch-format chat rollout, for tests. */

/**
 * `<|begin_of_query|>` → `</think><search>`, `<|end_of_query|>` → `</search>`, documents → `<result>…</result><think>`,
 * `<answer> x </answer>` → `<answer>\boxed{ x }</answer>`; wrapped in a Qwen chat template whose prompt ends in `<think>`.
 */
export function toReSearch(question: string, trace: string, eos = "<|im_end|>"): string {
  const response = trace
    .replaceAll("<|begin_of_query|>", "</think>\n<search>")
    .replaceAll("<|end_of_query|>", "</search>")
    .replaceAll("<|begin_of_documents|>", "<result>")
    .replaceAll("<|end_of_documents|>", "</result>\n<think>")
    .replace(/<answer>([\s\S]*?)<\/answer>/, (_m, a: string) => `<answer>\\boxed{${a}}</answer>`);
  return `<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n<think>${response}${eos}`;
}
