import OpenAI from "openai";
import { expect, test } from "vitest";
import { startModelServer } from "./server.js";
import { SHARED_DATA } from "../util/shared.js";

/** The load check: 64 concurrent openai clients × 200 requests against `research serve model`, 0 failures. */
test("64 concurrent clients × 200 requests (stories260K, 2 new tokens each): 0 failures", async () => {
  const server = await startModelServer({ model: SHARED_DATA + "/models/stories260K", port: 0 });
  try {
    const t0 = performance.now();
    let ok = 0;
    const failures: string[] = [];
    await Promise.all(Array.from({ length: 64 }, async (_, i) => {
      const c = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none", maxRetries: 0 });
      for (let j = 0; j < 200; j++) {
        try {
          const r = await c.completions.create({ model: "stories260K", prompt: "Tom", max_tokens: 2, temperature: 1, seed: i * 1000 + j });
          if (r.choices.length === 1 && r.usage!.completion_tokens <= 2) ok++;
          else failures.push(JSON.stringify(r));
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    console.log(`12,800 requests in ${seconds.toFixed(1)} s (${(12_800 / seconds).toFixed(0)} req/s), ${failures.length} failed`);
    expect(failures).toEqual([]);
    expect(ok).toBe(12_800);
  } finally {
    await server.close();
  }
}, 300_000);
