/**
 * @module retrieval/onnx-fixture — writes a tiny but real ONNX model for tests: token embeddings
 * (Gather of input_ids into a (V, D) table) as `last_hidden_state`, with a WordPiece vocab.txt beside it.
 * The protobuf is encoded by hand (onnx.proto: ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const varint = (n: number | bigint): number[] => {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
};
const field = (no: number, wire: number) => varint((no << 3) | wire);
const vint = (no: number, n: number | bigint) => [...field(no, 0), ...varint(n)];
const bytes = (no: number, b: number[] | Uint8Array) => [...field(no, 2), ...varint(b.length), ...b];
const str = (no: number, s: string) => bytes(no, [...Buffer.from(s, "utf8")]);

const dimParam = (p: string) => bytes(1, str(2, p));
const tensorType = (elem: number, dims: string[]) => bytes(1, [...vint(1, elem), ...bytes(2, dims.flatMap(dimParam))]);
const valueInfo = (name: string, elem: number, dims: string[]) => [...str(1, name), ...bytes(2, tensorType(elem, dims))];

/** Write model.onnx + vocab.txt into `dir`; returns the (V, D) embedding table, row-major. */
export function writeTinyEmbeddingModel(dir: string, vocab: string[], dim: number, seed = 1): Float32Array {
  mkdirSync(dir, { recursive: true });
  const table = new Float32Array(vocab.length * dim);
  let s = seed;
  for (let i = 0; i < table.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    table[i] = s / 2 ** 32 - 0.5;
  }
  const FLOAT = 1;
  const INT64 = 7;
  const init = [...vint(1, vocab.length), ...vint(1, dim), ...vint(2, FLOAT), ...str(8, "E"), ...bytes(9, new Uint8Array(table.buffer))];
  const node = [...str(1, "E"), ...str(1, "input_ids"), ...str(2, "last_hidden_state"), ...str(3, "embed"), ...str(4, "Gather")];
  const graph = [
    ...bytes(1, node),
    ...str(2, "tiny-embedder"),
    ...bytes(5, init),
    ...bytes(11, valueInfo("input_ids", INT64, ["B", "T"])),
    ...bytes(11, valueInfo("attention_mask", INT64, ["B", "T"])),
    ...bytes(12, valueInfo("last_hidden_state", FLOAT, ["B", "T", "D"])),
  ];
  const model = [...vint(1, 8), ...str(2, "research-test"), ...bytes(7, graph), ...bytes(8, [...str(1, ""), ...vint(2, 13)])];
  writeFileSync(join(dir, "model.onnx"), new Uint8Array(model));
  writeFileSync(join(dir, "vocab.txt"), vocab.join("\n") + "\n");
  return table;
}
