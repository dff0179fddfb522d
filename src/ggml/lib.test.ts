import { describe, expect, it } from "vitest";
import { bestCpuVariant, compute, getF32, GGML_TYPE_F32, metaContext, openGgml, packageBinDir, resolveDevice, setData } from "./lib.js";

describe("ggml/lib", () => {
  it("opens the CPU backend from the npm-installed binaries and reports which library", () => {
    const rt = openGgml({ device: "cpu" });
    expect(rt.info.backend).toBe("ggml-cpu");
    expect(rt.info.devices[0].type).toBe("cpu");
    expect(rt.info.threads).toBeGreaterThan(0);
    expect(rt.info.library.path).toMatch(/libggml-cpu-[a-z0-9_]+\.(so|dylib)$|ggml-cpu/);
    expect(rt.info.library.version).toMatch(/^\d+\.\d+/);
    expect(openGgml({ device: "cpu" })).toBe(rt); // one runtime per process
  });

  it("picks the highest-scoring CPU variant that runs here, and honours a pin", () => {
    const dir = packageBinDir(`@node-llama-cpp/${process.platform}-${process.arch}`)!;
    const best = bestCpuVariant(dir);
    expect(best.score).toBeGreaterThan(0);
    expect(bestCpuVariant(dir, best.variant).variant).toBe(best.variant);
    expect(() => bestCpuVariant(dir, "no-such-cpu")).toThrow(/no libggml-cpu-no-such-cpu/);
  });

  it("auto resolves to a device; a missing one is a clear error", () => {
    expect(["cpu", "cuda", "metal"]).toContain(resolveDevice("auto"));
    expect(() => openGgml({ device: "nope" as never })).toThrow(/unknown device "nope"/);
  });

  it("computes a matmul and its gradient (autodiff) on the backend", () => {
    const rt = openGgml({ device: "cpu" });
    const a = rt.api;
    const ctx = metaContext(rt, 64, 256);
    const W = a.ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 3, 2); // (out 2, in 3): ggml ne = [in, out]
    const x = a.ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 3, 4); // 4 columns of 3
    a.ggml_set_param(W);
    const y = a.ggml_mul_mat(ctx, W, x); // W·x: [2, 4]
    a.ggml_set_output(y);
    const loss = a.ggml_sum(ctx, a.ggml_sqr(ctx, y));
    a.ggml_set_loss(loss);
    const g = a.ggml_new_graph_custom(ctx, 256, true);
    a.ggml_build_forward_expand(g, loss);
    a.ggml_build_backward_expand(ctx, g, null);
    const ga = a.ggml_gallocr_new(rt.bufferType);
    expect(a.ggml_gallocr_alloc_graph(ga, g)).toBe(true);
    setData(rt, W, Float32Array.from([1, 2, 3, 4, 5, 6]));
    setData(rt, x, Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]));
    a.ggml_graph_reset(g);
    compute(rt, g);
    expect([...getF32(rt, y)]).toEqual([1, 4, 2, 5, 3, 6, 6, 15]);
    expect(getF32(rt, loss)[0]).toBe(1 + 16 + 4 + 25 + 9 + 36 + 36 + 225);
    // dL/dW = 2·y·xᵀ
    expect([...getF32(rt, a.ggml_graph_get_grad(g, W))]).toEqual([14, 16, 18, 38, 40, 42]);
    a.ggml_gallocr_free(ga);
    a.ggml_free(ctx);
  });
});
