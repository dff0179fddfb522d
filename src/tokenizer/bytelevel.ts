/**
 * @module tokenizer/bytelevel — build a small GPT-2 / Qwen2-style byte-level BPE `tokenizer.json` (256 byte tokens,
 * optional merges, ChatML special tokens) for tests and from-scratch models that need a real HF tokenizer file.
 */

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100…. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  const out: string[] = new Array(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i])));
  return out;
}

/**
 * tokenizer.json + tokenizer_config.json objects. `merges` are pairs of byte-level strings, applied in order
 * (each adds the merged token). Specials (`<|endoftext|>`, `<|im_start|>`, `<|im_end|>`) come last.
 */
export function buildByteLevelTokenizer(merges: [string, string][] = [], chatTemplate?: string): {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
} {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((ch, i) => (vocab[ch] = i));
  let next = 256;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = next++;
  const specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"].map((content) => ({
    id: next++, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
  const tokenizerConfig: Record<string, unknown> = {
    tokenizer_class: "Qwen2Tokenizer",
    bos_token: null,
    eos_token: "<|im_end|>",
    pad_token: "<|endoftext|>",
    add_bos_token: false,
    model_max_length: 32768,
  };
  if (chatTemplate) tokenizerConfig.chat_template = chatTemplate;
  return { tokenizerJson, tokenizerConfig };
}

/** A ChatML template (as Qwen2's, without tools) for tiny test models. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
