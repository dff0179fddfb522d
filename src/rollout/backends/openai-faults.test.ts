/** The OpenAI-compatible policy backend against a loopback server that misbehaves on purpose: bounded retries, a deadline per try, clear failures. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { createOpenAIBackend } from "./openai.js";

type Fault = "ok" | "500" | "429" | "400" | "hang" | "malformed" | "trickle";
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function server(plan: (n: number) => Fault) {
  let n = 0;
  const srv: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const f = plan(n++);
      if (f === "hang") return;
      if (f === "500" || f === "429" || f === "400") return void res.writeHead(Number(f), { "content-type": "application/json" }).end(`{"error": "status ${f}"}`);
      res.writeHead(200, { "content-type": "application/json" });
      if (f === "malformed") return void res.end("<html>502 Bad Gateway</html>");
      if (f === "trickle") {
        const t = setInterval(() => res.write(" "), 20);
        res.on("close", () => clearInterval(t));
        return;
      }
      res.end(JSON.stringify({ choices: [{ text: " Paris", finish_reason: "stop", stop_reason: null }], usage: { completion_tokens: 1 } }));
    });
  });
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  close = () => new Promise<void>((ok) => { srv.closeAllConnections(); srv.close(() => ok()); });
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`, calls: () => n };
}
const req = { prompt: "Capital of France?", maxTokens: 4, stop: ["</search>"], temperature: 0 };

describe("openai backend faults", () => {
  test.each(["500", "429", "malformed", "hang", "trickle"] as const)("%s once, then ok: retried and answered", async (fault) => {
    const s = await server((n) => (n === 0 ? fault : "ok"));
    const b = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", retries: 2, backoffMs: 5, timeoutMs: 200 });
    const [r] = await b.generate([req]);
    expect(r.text.startsWith(" Paris")).toBe(true);
    expect(s.calls()).toBe(2);
  });

  test("malformed every time: fails after retries + 1 tries with the body quoted", async () => {
    const s = await server(() => "malformed");
    const b = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", retries: 2, backoffMs: 5, timeoutMs: 200 });
    await expect(b.generate([req])).rejects.toThrow(/response is not JSON: "<html>502 Bad Gateway<\/html>" \(gave up after 3 tries\)/);
    expect(s.calls()).toBe(3);
  });

  test("a hang every time: bounded by timeout × tries", async () => {
    const s = await server(() => "hang");
    const b = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", retries: 1, backoffMs: 5, timeoutMs: 150 });
    const t0 = Date.now();
    await expect(b.generate([req])).rejects.toThrow(/timed out after 150 ms \(gave up after 2 tries\)/);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(s.calls()).toBe(2);
  });

  test("a 400 is not retried", async () => {
    const s = await server(() => "400");
    const b = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", retries: 3, backoffMs: 5, timeoutMs: 200 });
    await expect(b.generate([req])).rejects.toThrow(/HTTP 400/);
    expect(s.calls()).toBe(1);
  });
});
