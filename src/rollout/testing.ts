/**
 * @module rollout/testing — test fixtures for the rollout loop: a real OpenAI-compatible HTTP server that replays
 * scripted completions (stop strings kept or dropped, vLLM token ids), a character tokenizer, an in-memory retriever.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Tokenizer } from "../tokenizer/types.js";
import type { Retriever, SearchHit } from "../retrieval/types.js";

/** One id per character (code point + 2); id 1 is `<|endoftext|>`. Deterministic and a bijection on text. */
export function createCharTokenizer(eosText = "<|endoftext|>"): Tokenizer {
  const EOS = 1;
  return {
    vocabSize: 0x110000 + 2,
    bosId: null,
    eosId: EOS,
    eosText,
    encode(text) {
      const ids: number[] = [];
      for (let i = 0; i < text.length; ) {
        if (text.startsWith(eosText, i)) {
          ids.push(EOS);
          i += eosText.length;
          continue;
        }
        const cp = text.codePointAt(i)!;
        ids.push(cp + 2);
        i += cp > 0xffff ? 2 : 1;
      }
      return ids;
    },
    decode: (ids) => ids.map((id) => (id === EOS ? eosText : String.fromCodePoint(id - 2))).join(""),
  };
}

export type StopMode = "drop" | "keep" | "vllm";

export interface ScriptedServerOptions {
  /** The continuation the model "writes" given the question and its response so far; ends with EOS unless cut. */
  script: (ctx: { question: string; response: string }) => string;
  /** drop: OpenAI default (stop string removed); keep: stop kept in text; vllm: dropped, with `stop_reason`. */
  stopMode?: StopMode;
  /** Answer the first N requests with HTTP 503 (retry tests). */
  failFirst?: number;
  /** Delay every answer (timeout tests). */
  delayMs?: number;
}

export interface RecordedRequest {
  path: string;
  body: Record<string, unknown>;
  port: number;
}

export interface ScriptedServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const tok = createCharTokenizer();

/** Question and response so far, from a ReSearch/Search-R1 completion prompt or chat messages. */
function parseContext(body: Record<string, unknown>): { question: string; response: string } {
  if (Array.isArray(body.messages)) {
    const msgs = body.messages as { role: string; content: string }[];
    const user = msgs.find((m) => m.role === "user")?.content ?? "";
    const last = msgs[msgs.length - 1];
    return { question: user, response: last.role === "assistant" ? last.content : "" };
  }
  const prompt = Array.isArray(body.prompt) ? tok.decode(body.prompt as number[]) : String(body.prompt);
  const m = /User: ([\s\S]*?)\. Assistant:([\s\S]*)$/.exec(prompt) ?? /Question: ([^\n]*)\n([\s\S]*)$/.exec(prompt);
  if (!m) throw new Error(`scripted server: cannot find the question in prompt ${JSON.stringify(prompt.slice(0, 80))}`);
  return { question: m[1], response: m[2] };
}

/** Start the server on an ephemeral port. One character = one token. */
export async function startScriptedServer(opts: ScriptedServerOptions): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  let seen = 0;
  const server: Server = createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", async () => {
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      try {
        const body = JSON.parse(data) as Record<string, unknown>;
        requests.push({ path: req.url ?? "", body, port: (server.address() as AddressInfo).port });
        if (seen++ < (opts.failFirst ?? 0)) return send(503, { error: { message: "overloaded" } });
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        send(200, complete(body, opts));
      } catch (e) {
        send(400, { error: { message: (e as Error).message } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function complete(body: Record<string, unknown>, opts: ScriptedServerOptions): unknown {
  const ctx = parseContext(body);
  const full = opts.script(ctx);
  const stops = (body.stop as string[] | undefined) ?? [];
  let text = full;
  let finish: "stop" | "length" = "stop";
  let stopReason: string | null = null;
  let eos = true;
  let hit = -1;
  let hitStop = "";
  for (const s of stops) {
    const i = full.indexOf(s);
    if (i >= 0 && (hit < 0 || i < hit)) [hit, hitStop] = [i, s];
  }
  if (hit >= 0) {
    text = full.slice(0, hit + hitStop.length);
    stopReason = hitStop;
    eos = false;
  }
  const maxTokens = Number(body.max_tokens ?? Infinity);
  if (text.length > maxTokens) {
    text = text.slice(0, maxTokens);
    finish = "length";
    stopReason = null;
    eos = false;
  }
  const ids = tok.encode(text);
  if (eos) ids.push(tok.eosId!);
  const shown = stopReason && opts.stopMode !== "keep" ? text.slice(0, -stopReason.length) : text;
  const logprobs = body.logprobs ? ids.map((_, i) => -0.25 - (i % 3) * 0.25) : undefined;
  const choice: Record<string, unknown> = { index: 0, finish_reason: finish };
  if (opts.stopMode === "vllm") choice.stop_reason = stopReason;
  if (Array.isArray(body.messages)) {
    choice.message = { role: "assistant", content: shown };
    if (logprobs) choice.logprobs = { content: logprobs.map((lp, i) => ({ token: tok.decode([ids[i]]), logprob: lp })) };
  } else {
    choice.text = shown;
    if (logprobs) {
      const tokens = ids.map((id) => (body.return_tokens_as_token_ids ? `token_id:${id}` : tok.decode([id])));
      choice.logprobs = { tokens, token_logprobs: logprobs };
    }
  }
  return { id: "cmpl-test", object: "text_completion", choices: [choice], usage: { completion_tokens: ids.length } };
}

/** An in-memory retriever over fixed hit lists; a query listed in `failOn` throws. Records every call. */
export function createMapRetriever(hits: Record<string, SearchHit[]>, opts: { failOn?: string[] } = {}): Retriever & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async search(queries, topN) {
      calls.push([...queries]);
      for (const q of queries) if (opts.failOn?.includes(q)) throw new Error(`index unavailable for "${q}"`);
      return queries.map((q) => (hits[q] ?? []).slice(0, topN));
    },
  };
}
