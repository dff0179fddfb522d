import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";

const research = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["bin/research.js", ...args], { encoding: "utf8", env: { ...process.env, ...env } });

describe("research engine", () => {
  it("--json prints the ggml backend, devices, threads and library", () => {
    const r = research(["engine", "--json", "--device", "cpu"]);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { backend: string; devices: { type: string }[]; threads: number; library: { path: string; variant: string; version: string } };
    expect(info.backend).toBe("ggml-cpu");
    expect(info.devices[0].type).toBe("cpu");
    expect(info.threads).toBeGreaterThan(0);
    expect(info.library.path).toMatch(/libggml-cpu-/);
    expect(info.library.version).toMatch(/^\d+\.\d+/);
  });

  it("a pinned CPU variant is what it reports; the table form names the backend", () => {
    const r = research(["engine", "--json"], { RESEARCH_GGML_CPU_VARIANT: "x64" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).library.variant).toBe("x64");
    const t = research(["engine"]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^backend\s+ggml-/m);
  });

  it("a device that is not here is a clear error with exit code 2, not a crash", () => {
    const missing = process.platform === "darwin" ? "cuda" : "metal";
    const r = research(["engine", "--device", missing]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`device ${missing} is not available here`);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    const bad = research(["generate", "--device", "tpu", "--help"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--device.*tpu|tpu.*invalid|Allowed choices/i);
  });
});
