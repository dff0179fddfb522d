/** @module tensor/blas — routes tfjs-wasm BatchMatMul to an optimised BLAS sgemm when one is available. */
export async function installBlasMatMul(): Promise<string | undefined> {
  return undefined;
}
