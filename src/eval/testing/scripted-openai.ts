/**
 * @module eval/testing/scripted-openai — a real OpenAI-compatible HTTP server (node:http, ephemeral port) whose
 * replies come from a script function; it counts and records every request. For deterministic tests of prompts,
 * control flow, resume and the judge, and for the eval benchmark (with a per-request delay standing in for a GPU).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ScriptedRequest {
  path: string;
  body: Record<string, unknown>;
  /** `prompt` of /completions, or the messages' contents joined by "\n" for /chat/completions. */
  text: string;
  messages?: { role: string; content: string }[];
}

export interface ScriptedReply {
  text: string;
  finishReason?: "stop" | "length";
  /** HTTP status to answer instead (the text becomes the error body). */
  status?: number;
}

export type Script = (req: ScriptedRequest) => string | ScriptedReply | Promise<string | ScriptedReply>;

export interface ScriptedServer {
  /** Base URL ending in /v1. */
  baseUrl: string;
  requests: ScriptedRequest[];
  close(): Promise<void>;
}

export async function startScriptedServer(script: Script, opts: { delayMs?: number } = {}): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? "").replace(/^\/v1/, "");
    if (req.method === "GET" && path === "/models") return send(res, 200, { object: "list", data: [{ id: "scripted", object: "model" }] });
    if (req.method !== "POST" || (path !== "/completions" && path !== "/chat/completions")) return send(res, 404, { error: { message: "not found" } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    } catch {
      return send(res, 400, { error: { message: "invalid JSON" } });
    }
    const messages = Array.isArray(body.messages) ? (body.messages as { role: string; content: string }[]) : undefined;
    const text = messages ? messages.map((m) => m.content).join("\n") : String(body.prompt ?? "");
    const entry: ScriptedRequest = { path, body, text, ...(messages ? { messages } : {}) };
    requests.push(entry);
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    const raw = await script(entry);
    const reply: ScriptedReply = typeof raw === "string" ? { text: raw } : raw;
    if (reply.status && reply.status !== 200) return send(res, reply.status, { error: { message: reply.text } });
    const choice =
      path === "/completions"
        ? { index: 0, text: reply.text, finish_reason: reply.finishReason ?? "stop", logprobs: null }
        : { index: 0, message: { role: "assistant", content: reply.text }, finish_reason: reply.finishReason ?? "stop" };
    send(res, 200, {
      id: `cmpl-${requests.length}`,
      object: path === "/completions" ? "text_completion" : "chat.completion",
      model: String(body.model ?? "scripted"),
      choices: [choice],
      usage: { prompt_tokens: Math.ceil(text.length / 4), completion_tokens: Math.ceil(reply.text.length / 4) },
    });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { error: { message: String(e) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
