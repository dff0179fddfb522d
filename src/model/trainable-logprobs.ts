/**
 * @module model/trainable-logprobs — log p(target) and entropy from logits in one op with a hand-written gradient,
 * so the (N, V) softmax is computed once and the backward is one pass:
 *   lp = z_y − logsumexp(z)            ∂lp/∂z = onehot(y) − p
 *   H  = −Σ p·log p                    ∂H/∂z  = −p·(log p + H)
 * On wasm both directions are single JS passes over heap views (kernels below); elsewhere plain tfjs ops.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

const FWD = "ResearchTokenLogprobs";
const BWD = "ResearchTokenLogprobsGrad";
let useFused = true;
/** Turn the fused JS kernels off (tests compare both paths). */
export function setFusedLogprobs(on: boolean): void {
  useFused = on;
}

/** logits (N, V), targets (N) → [logprob of target (N), entropy (N)]. Differentiable w.r.t. the logits. */
export function tokenLogprobsAndEntropy(logits: tf.Tensor2D, targets: Int32Array): [tf.Tensor1D, tf.Tensor1D] {
  const [N, V] = logits.shape;
  if (targets.length !== N) throw new Error(`tokenLogprobsAndEntropy: ${targets.length} targets for ${N} rows`);
  for (let n = 0; n < N; n++)
    if (targets[n] < 0 || targets[n] >= V) throw new Error(`tokenLogprobsAndEntropy: target ${targets[n]} at row ${n} outside [0, ${V})`);
  const fused = useFused && tf.getKernel(FWD, tf.getBackend()) !== undefined;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const z = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const tg = tf.tensor1d(targets, "int32");
    if (fused) {
      const [out, lse] = tf.engine().runKernel(FWD, { z, targets: tg }) as tf.Tensor[]; // (N, 2), (N)
      save([z, tg, lse, out]);
      return {
        value: out,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.engine().runKernel(BWD, { dy, z: saved[0], targets: saved[1], lse: saved[2], out: saved[3] }) as tf.Tensor,
      };
    }
    const logp = tf.logSoftmax(z); // (N, V)
    const flatIdx = tf.tensor1d(Int32Array.from(targets, (t, n) => n * V + t), "int32");
    const lp = tf.gather(logp.reshape([N * V]), flatIdx); // (N)
    const ent = tf.exp(logp).mul(logp).sum(-1).neg(); // (N)
    save([logp, ent, tg]);
    return {
      value: tf.stack([lp, ent], 1), // (N, 2)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [lg, h, t] = saved; // (N, V), (N), (N)
        const [dlp, dh] = tf.unstack(dy, 1).map((d) => d.reshape([N, 1])); // (N, 1) each
        const prob = tf.exp(lg);
        // int32 then cast: tfjs-wasm 4.22 oneHot ignores dtype "float32" and returns all zeros.
        const onehot = tf.oneHot(t as tf.Tensor1D, V).cast("float32"); // (N, V)
        // dz = dlp·(onehot − p) − dh·p·(log p + H)
        return onehot.mul(dlp).sub(prob.mul(dlp.add(dh.mul(lg.add(h.reshape([N, 1]))))));
      },
    };
  });
  const both = op(logits) as tf.Tensor2D; // (N, 2)
  const [lp, ent] = tf.unstack(both, 1) as [tf.Tensor1D, tf.Tensor1D];
  return [lp, ent];
}

// ---- wasm kernels ------------------------------------------------------------------------------------------------
type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm };

/** out (N, 2) = [lp, H] per row; lse (N). */
function forward({ inputs, backend }: Args): tf.TensorInfo[] {
  const { z, targets } = inputs as unknown as Record<"z" | "targets", tf.TensorInfo>;
  const [N, V] = z.shape;
  const outInfo = backend.makeOutput([N, 2], "float32");
  const lseInfo = backend.makeOutput([N], "float32");
  const Z = backend.typedArrayFromHeap(z) as Float32Array;
  const TG = backend.typedArrayFromHeap(targets) as Int32Array;
  const OUT = backend.typedArrayFromHeap(outInfo) as Float32Array;
  const LSE = backend.typedArrayFromHeap(lseInfo) as Float32Array;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let m = -Infinity;
    for (let i = 0; i < V; i++) if (Z[o + i] > m) m = Z[o + i];
    let s = 0;
    let sz = 0; // Σ e^(z−m)·z
    for (let i = 0; i < V; i++) {
      const e = Math.exp(Z[o + i] - m);
      s += e;
      sz += e * Z[o + i];
    }
    const lse = m + Math.log(s);
    LSE[n] = lse;
    OUT[2 * n] = Z[o + TG[n]] - lse;
    OUT[2 * n + 1] = lse - sz / s; // H = −Σ p·(z − lse) = lse − E_p[z]
  }
  return [outInfo, lseInfo];
}

/** dz = dlp·(onehot − p) − dH·p·(log p + H). */
function backward({ inputs, backend }: Args): tf.TensorInfo {
  const { dy, z, targets, lse, out } = inputs as unknown as Record<"dy" | "z" | "targets" | "lse" | "out", tf.TensorInfo>;
  const [N, V] = z.shape;
  const dzInfo = backend.makeOutput([N, V], "float32");
  const DY = backend.typedArrayFromHeap(dy) as Float32Array;
  const Z = backend.typedArrayFromHeap(z) as Float32Array;
  const TG = backend.typedArrayFromHeap(targets) as Int32Array;
  const LSE = backend.typedArrayFromHeap(lse) as Float32Array;
  const OUT = backend.typedArrayFromHeap(out) as Float32Array;
  const DZ = backend.typedArrayFromHeap(dzInfo) as Float32Array;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const dlp = DY[2 * n];
    const dh = DY[2 * n + 1];
    const l = LSE[n];
    const h = OUT[2 * n + 1];
    for (let i = 0; i < V; i++) {
      const logp = Z[o + i] - l;
      const p = Math.exp(logp);
      DZ[o + i] = -p * (dlp + dh * (logp + h));
    }
    DZ[o + TG[n]] += dlp;
  }
  return dzInfo;
}

let installed = false;
/** Register the fused kernels on the wasm backend (idempotent; called by tensor/backend at start-up). */
export function installLogprobKernels(): void {
  if (installed) return;
  installed = true;
  tf.registerKernel({ kernelName: FWD, backendName: "wasm", kernelFunc: forward as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: BWD, backendName: "wasm", kernelFunc: backward as unknown as tf.KernelFunc });
}
