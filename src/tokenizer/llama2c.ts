/**
 * @module tokenizer/llama2c — the llama2.c tokenizer (`tokenizer.bin`, `tok512.bin`): a SentencePiece-exported
 * vocabulary with merge scores. Encoding follows run.c exactly: dummy-prefix space, one token per UTF-8 character
 * (byte fallback `<0xXX>` = id byte+3), then greedily merge the adjacent pair whose concatenation has the best score.
 */
import { readFileSync, existsSync } from "node:fs";
import { InputError, UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import type { Tokenizer } from "./types.js";

export interface Llama2cVocab {
  pieces: Uint8Array[];
  scores: Float32Array;
  maxTokenLength: number;
}

export function readLlama2cVocab(path: string, vocabSize?: number): Llama2cVocab {
  if (!existsSync(path)) throw new UserError(`llama2.c tokenizer not found: ${path}`);
  const buf = readFileSync(path);
  const maxTokenLength = buf.readInt32LE(0);
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let p = 4;
  while (p < buf.length && (vocabSize === undefined || pieces.length < vocabSize)) {
    if (p + 8 > buf.length) throw new InputError(path, undefined, `token ${pieces.length}`, "truncated entry");
    scores.push(buf.readFloatLE(p));
    const len = buf.readInt32LE(p + 4);
    if (len < 0 || p + 8 + len > buf.length) throw new InputError(path, undefined, `token ${pieces.length}`, `bad length ${len}`);
    pieces.push(new Uint8Array(buf.subarray(p + 8, p + 8 + len)));
    p += 8 + len;
  }
  if (vocabSize !== undefined && pieces.length < vocabSize)
    throw new InputError(path, undefined, undefined, `has ${pieces.length} tokens, the model needs ${vocabSize}`);
  return { pieces, scores: Float32Array.from(scores), maxTokenLength };
}

export function writeLlama2cVocab(path: string, vocab: Llama2cVocab): void {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeInt32LE(vocab.maxTokenLength, 0);
  parts.push(head);
  vocab.pieces.forEach((piece, i) => {
    const b = Buffer.alloc(8);
    b.writeFloatLE(vocab.scores[i], 0);
    b.writeInt32LE(piece.length, 4);
    parts.push(b, Buffer.from(piece));
  });
  writeFileAtomic(path, Buffer.concat(parts));
}

const key = (b: Uint8Array) => Buffer.from(b).toString("latin1");
const BYTE_RE = /^<0x([0-9A-Fa-f]{2})>$/;

export interface Llama2cTokenizer extends Tokenizer {
  readonly kind: "llama2c";
  readonly vocab: Llama2cVocab;
}

/** Build the tokenizer. BOS = 1, EOS = 2 (llama2.c convention); specials render as `<s>`, `</s>`, `<unk>`. */
export function createLlama2cTokenizer(vocab: Llama2cVocab): Llama2cTokenizer {
  const lookup = new Map<string, number>();
  vocab.pieces.forEach((p, i) => {
    if (!lookup.has(key(p))) lookup.set(key(p), i);
  });
  const bosId = 1;
  const eosId = 2;
  // Special tokens: ids whose piece is `<…>` possibly wrapped in newlines and not a byte token.
  const specialText = new Map<number, string>();
  vocab.pieces.forEach((p, i) => {
    const s = Buffer.from(p).toString("utf8").trim();
    if (i < 3 && /^<[^>]*>$/.test(s) && !BYTE_RE.test(s)) specialText.set(i, s);
  });
  const pieceBytes: Uint8Array[] = vocab.pieces.map((p, i) => {
    const m = BYTE_RE.exec(Buffer.from(p).toString("latin1"));
    if (m) return Uint8Array.of(parseInt(m[1], 16));
    const sp = specialText.get(i);
    return sp !== undefined ? new Uint8Array(Buffer.from(sp, "utf8")) : p;
  });

  /** run.c encode() on plain text (no specials). */
  const encodePlain = (text: string, out: number[]) => {
    if (text === "") return;
    const ids: number[] = [];
    const dummy = lookup.get(" ");
    if (dummy !== undefined) ids.push(dummy);
    for (const ch of text) {
      const bytes = Buffer.from(ch, "utf8");
      const id = lookup.get(bytes.toString("latin1"));
      if (id !== undefined) ids.push(id);
      else for (const b of bytes) ids.push(b + 3);
    }
    for (;;) {
      let best = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < ids.length - 1; i++) {
        const id = lookup.get(key(vocab.pieces[ids[i]]) + key(vocab.pieces[ids[i + 1]]));
        if (id !== undefined && vocab.scores[id] > best) {
          best = vocab.scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      ids.splice(bestIdx, 2, bestId);
    }
    out.push(...ids);
  };

  const specials = [...specialText.entries()].filter(([id]) => id !== 0);
  return {
    kind: "llama2c",
    vocab,
    vocabSize: vocab.pieces.length,
    bosId,
    eosId,
    eosText: specialText.get(eosId) ?? "",
    encode(text, opts = {}) {
      const out: number[] = opts.addBos ? [bosId] : [];
      let rest = text;
      // Split on special-token texts so `<s>` / `</s>` in the input map to their ids.
      while (rest.length) {
        let at = -1;
        let which: [number, string] | undefined;
        for (const [id, s] of specials) {
          const i = rest.indexOf(s);
          if (i !== -1 && (at === -1 || i < at)) [at, which] = [i, [id, s]];
        }
        if (!which) {
          encodePlain(rest, out);
          break;
        }
        encodePlain(rest.slice(0, at), out);
        out.push(which[0]);
        rest = rest.slice(at + which[1].length);
      }
      return out;
    },
    decode(ids) {
      const chunks: Uint8Array[] = [];
      let prev = -1;
      for (const id of ids) {
        if (id < 0 || id >= pieceBytes.length) throw new UserError(`token id ${id} out of range [0, ${pieceBytes.length})`);
        let b = pieceBytes[id];
        // run.c: after BOS, SentencePiece strips the leading whitespace of the next piece.
        if (prev === bosId && b[0] === 0x20) b = b.subarray(1);
        chunks.push(b);
        prev = id;
      }
      return Buffer.concat(chunks).toString("utf8");
    },
  };
}

export function loadLlama2cTokenizer(path: string, vocabSize?: number): Llama2cTokenizer {
  return createLlama2cTokenizer(readLlama2cVocab(path, vocabSize));
}
