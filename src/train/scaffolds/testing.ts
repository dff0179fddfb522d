/**
 * @module train/scaffolds/testing — fixtures for scaffold tests: the rollout loop over a scripted OpenAI-compatible
 * server (rollout/testing.ts), with the character tokenizer and vLLM token ids, so masks and ids can be checked.
 */
import { afterEach } from "vitest";
import { createOpenAIBackend } from "../../rollout/backends/openai.js";
import { createCharTokenizer, startScriptedServer, type ScriptedServer, type StopMode } from "../../rollout/testing.js";
import type { SearchHit } from "../../retrieval/types.js";
import type { Segment } from "../../rollout/types.js";

export const hit = (id: string, contents: string): SearchHit => ({ id, contents, score: 1 });
export const ex = (id: string, question: string) => ({ id, question });

/** Token offset of segment k in the response (sum of the earlier segments' ids). */
export const offsetOf = (segments: Segment[], k: number) => segments.slice(0, k).reduce((n, g) => n + g.tokenIds!.length, 0);

/** Scripted servers started by a test file, closed after each test. */
export function scriptedServers() {
  let servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  const tok = createCharTokenizer();
  /** A backend over a new scripted server: vLLM token ids by default, or the stop string kept in the text. */
  return async (script: (ctx: { question: string; response: string }) => string, stopMode: StopMode = "vllm") => {
    const server = await startScriptedServer({ script, stopMode });
    servers.push(server);
    const backend = createOpenAIBackend({ baseUrls: [server.url], modelName: "m", ...(stopMode === "vllm" ? { tokenizer: tok, tokenIds: true } : {}) });
    return { server, backend, tok };
  };
}
