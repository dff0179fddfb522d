/**
 * @module model/safetensors — read and write the safetensors format (8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}`, then raw little-endian tensor bytes).
 * Reads F32, F16 and BF16 (converted to F32); writes F32. Sharded checkpoints via `model.safetensors.index.json`.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { InputError, UserError } from "../util/errors.js";
import type { Tensor32, WeightMap } from "./weights.js";

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** IEEE half → float. */
function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Decode one tensor's bytes to F32. */
function toF32(buf: Buffer, start: number, end: number, dtype: string): Float32Array {
  const n = (end - start) / BYTES[dtype];
  const out = new Float32Array(n);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F32" && bytes.byteOffset % 4 === 0 && LITTLE_ENDIAN) {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
  } else if (dtype === "F32") {
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  } else if (dtype === "F64") {
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
  } else if (dtype === "F16") {
    for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
  } else {
    // BF16: the upper 16 bits of an F32.
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = dv.getUint16(2 * i, true) << 16;
  }
  return out;
}

/** Read exactly `length` bytes at `position` (files may exceed Node's 4 GiB Buffer limit, so never read whole). */
function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, Math.min(length - got, 1 << 30), position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Read one `.safetensors` file into F32 tensors, plus its `__metadata__`. Tensors are read one at a time. */
export function readSafetensors(path: string): { weights: WeightMap; metadata: Record<string, string> } {
  if (!existsSync(path)) throw new UserError(`safetensors file not found: ${path}`);
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new InputError(path, undefined, undefined, "file too short for a safetensors header");
    const headerLen = Number(readAt(fd, 8, 0).readBigUInt64LE(0));
    if (headerLen <= 0 || 8 + headerLen > size) throw new InputError(path, undefined, "header", `bad header length ${headerLen}`);
    let header: Record<string, HeaderEntry | Record<string, string>>;
    try {
      header = JSON.parse(readAt(fd, headerLen, 8).toString("utf8"));
    } catch (e) {
      throw new InputError(path, undefined, "header", `invalid JSON (${(e as Error).message})`);
    }
    const base = 8 + headerLen;
    const weights: WeightMap = new Map();
    let metadata: Record<string, string> = {};
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") {
        metadata = entry as Record<string, string>;
        continue;
      }
      const { dtype, shape, data_offsets } = entry as HeaderEntry;
      if (!(dtype in BYTES)) throw new InputError(path, undefined, name, `unsupported dtype ${dtype} (F32, F16, BF16, F64 are read)`);
      const [s, e] = data_offsets;
      const count = shape.reduce((a, b) => a * b, 1);
      if (e - s !== count * BYTES[dtype] || base + e > size)
        throw new InputError(path, undefined, name, `data_offsets [${s}, ${e}] do not match shape [${shape}] ${dtype}`);
      const bytes = readAt(fd, e - s, base + s);
      weights.set(name, { shape: [...shape], data: toF32(bytes, 0, e - s, dtype) });
    }
    return { weights, metadata };
  } finally {
    closeSync(fd);
  }
}

/** The JSON header (padded to 8 bytes) and the sorted tensor order for an F32 file. */
function planSafetensors(weights: WeightMap, metadata: Record<string, string>): { header: Buffer; names: string[]; dataBytes: number } {
  const names = [...weights.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: { format: "pt", ...metadata } };
  let offset = 0;
  for (const name of names) {
    const t = weights.get(name) as Tensor32;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new UserError(`tensor ${name}: shape [${t.shape}] has ${count} elements but data has ${t.data.length}`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hbytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + hbytes.length);
  out.writeBigUInt64LE(BigInt(hbytes.length), 0);
  hbytes.copy(out, 8);
  return { header: out, names, dataBytes: offset };
}

function tensorBytes(t: Tensor32): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const b = Buffer.alloc(t.data.byteLength);
  for (let i = 0; i < t.data.length; i++) b.writeFloatLE(t.data[i], 4 * i);
  return b;
}

/** Serialize tensors as one F32 safetensors buffer (names sorted, 8-byte aligned header). For small models/tests. */
export function encodeSafetensors(weights: WeightMap, metadata: Record<string, string> = {}): Buffer {
  const { header, names } = planSafetensors(weights, metadata);
  return Buffer.concat([header, ...names.map((n) => tensorBytes(weights.get(n) as Tensor32))]);
}

/** Write F32 safetensors atomically, streaming tensor by tensor (temp file, fsync, rename). */
export function writeSafetensors(path: string, weights: WeightMap, metadata: Record<string, string> = {}): void {
  const { header, names } = planSafetensors(weights, metadata);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, "w");
  try {
    const writeAll = (b: Buffer) => {
      for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, Math.min(b.length - off, 1 << 30));
    };
    writeAll(header);
    for (const n of names) writeAll(tensorBytes(weights.get(n) as Tensor32));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Read all weights of an HF directory: `model.safetensors`, or the shards listed in `model.safetensors.index.json`. */
export function readSafetensorsDir(dir: string): WeightMap {
  const single = join(dir, "model.safetensors");
  if (existsSync(single)) return readSafetensors(single).weights;
  const indexPath = join(dir, "model.safetensors.index.json");
  if (!existsSync(indexPath)) throw new UserError(`${dir}: neither model.safetensors nor model.safetensors.index.json found`);
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(readFileSync(indexPath, "utf8"));
  } catch (e) {
    throw new InputError(indexPath, undefined, undefined, `invalid JSON (${(e as Error).message})`);
  }
  if (!index.weight_map || typeof index.weight_map !== "object") throw new InputError(indexPath, undefined, "weight_map", "missing");
  const weights: WeightMap = new Map();
  for (const shard of [...new Set(Object.values(index.weight_map))].sort()) {
    for (const [name, t] of readSafetensors(join(dir, shard)).weights) weights.set(name, t);
  }
  for (const name of Object.keys(index.weight_map))
    if (!weights.has(name)) throw new InputError(indexPath, undefined, `weight_map.${name}`, `tensor not found in ${index.weight_map[name]}`);
  return weights;
}
