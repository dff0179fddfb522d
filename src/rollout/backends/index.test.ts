import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadModel } from "../../model/load.js";
import { exportGguf } from "../../model/gguf.js";
import { createBackend, openRetrieverFromConfig, rolloutConfigFromFlags } from "./index.js";
import { SHARED_DATA } from "../../util/shared.js";

const STORIES = SHARED_DATA + "/models/stories260K";
const dir = mkdtempSync(join(tmpdir(), "backend-factory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("createBackend", () => {
  test("--model DIR → native, --model FILE.gguf → llama.cpp, --base-url → OpenAI-compatible", async () => {
    const native = await createBackend({ model: STORIES });
    expect(native.name).toMatch(/^native:/);
    expect(native.eosText).toBe("</s>");

    const gguf = join(dir, "stories.gguf");
    exportGguf(gguf, await loadModel(STORIES));
    const llama = await createBackend({ model: gguf, cpu: true, threads: 1, maxBatch: 2, contextSize: 128 });
    try {
      expect(llama.name).toBe(`llama.cpp:${gguf}`);
      const [r] = await llama.generate([{ prompt: "Lily", maxTokens: 8, stop: ["."], temperature: 0 }]);
      expect(r.tokenIds!.length).toBeGreaterThan(0);
    } finally {
      await llama.close?.();
    }

    const remote = await createBackend({ baseUrls: ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"], modelName: "m", chat: true });
    expect(remote.name).toBe("openai:m@http://127.0.0.1:1/v1,http://127.0.0.1:2/v1 (chat)");
    expect(remote.eosText).toBe("<|im_end|>");
    expect((await createBackend({ baseUrls: ["http://x/v1"], modelName: "m", eosToken: "<eos>" })).eosText).toBe("<eos>");
  });

  test.each([
    [{}, /no policy/],
    [{ model: STORIES, baseUrls: ["http://x/v1"] }, /either --model or --base-url/],
    [{ baseUrls: ["http://x/v1"] }, /--base-url needs --model-name/],
    [{ baseUrls: ["not a url"], modelName: "m" }, /option baseUrls\.0/],
    [{ baseUrls: ["http://x/v1"], modelName: "m", tokenIds: true }, /--token-ids needs --tokenizer/],
    [{ model: join(dir, "nope") }, /model not found/],
  ])("bad config %j is a clear error", async (cfg, msg) => {
    await expect(createBackend(cfg)).rejects.toThrow(msg);
  });

  test("retriever and loop flags", async () => {
    await expect(openRetrieverFromConfig({})).rejects.toThrow(/exactly one retriever/);
    await expect(openRetrieverFromConfig({ index: "x", retrieverUrl: "http://y" })).rejects.toThrow(/exactly one retriever/);
    expect(rolloutConfigFromFlags({ chat: true, temperature: "0.7", maxSearches: "3" })).toMatchObject({
      template: "research-instruct", temperature: 0.7, maxSearches: 3, maxResponseTokens: 8192, maxPromptTokens: 512, schedule: "rounds",
    });
    expect(() => rolloutConfigFromFlags({ temperature: "-1" })).toThrow(/option temperature/);
  });
});
