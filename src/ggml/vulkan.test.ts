/**
 * The GPU code path through ggml's Vulkan backend: on a machine without a GPU, Mesa's CPU Vulkan driver (Debian
 * `mesa-vulkan-drivers` + `libvulkan1`) runs it. Skips when the Vulkan loader, driver or the ggml Vulkan package is
 * absent. Its own file: a process opens ggml on one device.
 */
import { describe, expect, it } from "vitest";
import { InferenceModel } from "../model/infer.js";
import { tinyQwen2 } from "../model/testing.js";
import { GgmlInferenceModel } from "./infer.js";
import { checkDevice, openGgml, type GgmlRuntime } from "./lib.js";

function vulkan(): GgmlRuntime | string {
  // ggml lists only GPU-type Vulkan devices unless told which to use; index 0 is Mesa's lavapipe on a GPU-less machine
  process.env.GGML_VK_VISIBLE_DEVICES ??= "0";
  try {
    checkDevice("vulkan");
    return openGgml({ device: "vulkan" });
  } catch (e) {
    return (e as Error).message;
  }
}

const rt = vulkan();
if (typeof rt === "string") console.warn(`vulkan test skipped: ${rt}`);

describe.skipIf(typeof rt === "string")("ggml on Vulkan", () => {
  it("generation logits equal the TypeScript engine's", () => {
    const r = rt as GgmlRuntime;
    expect(r.info.backend).toBe("ggml-vulkan");
    const model = tinyQwen2({ seed: 5 });
    const ref = new InferenceModel(model.config, model.weights);
    const gg = new GgmlInferenceModel(model.config, model.weights, r);
    const rc = [ref.newCache(16), ref.newCache(16)];
    const gc = [gg.newCache(16), gg.newCache(16)];
    const a = ref.forward([{ cache: rc[0], tokens: [1, 2, 3] }, { cache: rc[1], tokens: [4, 5] }]);
    const b = gg.forward([{ cache: gc[0], tokens: [1, 2, 3] }, { cache: gc[1], tokens: [4, 5] }]);
    let m = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    // the Vulkan shaders round differently (measured with lavapipe: 1.2e-3 on logits of this size)
    expect(m / scale, `max |Δ| ${m} of max |logit| ${scale}`).toBeLessThan(2e-3);
    gg.dispose();
  });
});
