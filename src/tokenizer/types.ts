/** @module tokenizer/types — the tokenizer interface shared by model, rollout and training. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** Text of the EOS token as it appears in decoded text (e.g. `<|endoftext|>`, `<|im_end|>`); "" when the model has none. */
  readonly eosText: string;
  /** Encode text to ids. Special-token texts in the input (e.g. `<|im_end|>`) map to their ids. No BOS unless asked. */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  /** Decode ids to text, special tokens kept as their text. */
  decode(ids: number[]): string;
  /** Chat template (Jinja source) from tokenizer_config.json, when the model has one. */
  readonly chatTemplate?: string;
}
