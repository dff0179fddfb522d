/**
 * @module model/kernels — the inference engine's BLAS calls: OpenBLAS `cblas_sgemm` (several rows) and `cblas_sgemv`
 * (one row: decode at batch 1, 1.3–2.5× faster than a 1-row sgemm by measurement) through koffi, on the Float32Arrays
 * themselves (no copies). Absent koffi/OpenBLAS or with RESEARCH_BLAS=0 the engine uses its JS loop.
 * (src/tensor/blas.ts routes the training model's tfjs matmuls to the same library.)
 */
import { openOpenblas } from "../tensor/openblas.js";

export type Sgemm = (
  order: number, transA: number, transB: number, M: number, N: number, K: number,
  alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
) => void;
export type Sgemv = (
  order: number, trans: number, M: number, N: number, alpha: number, A: Float32Array, lda: number,
  x: Float32Array, incx: number, beta: number, y: Float32Array, incy: number,
) => void;

function load(): { sgemm: Sgemm; sgemv: Sgemv } | null {
  const o = openOpenblas();
  if (!o) return null;
  return {
    sgemm: o.lib.func("void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)") as Sgemm,
    sgemv: o.lib.func("void cblas_sgemv(int, int, int, int, float, const float *, int, const float *, int, float, float *, int)") as Sgemv,
  };
}

export const blas = load();
