/** @module util/progress — progress bars for long work (cli-progress on a TTY, periodic log lines otherwise). */
import cliProgress from "cli-progress";

export interface Progress {
  update(value: number, payload?: Record<string, string | number>): void;
  increment(by?: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(label: string, total: number, opts: { quiet?: boolean; fields?: string } = {}): Progress {
  if (opts.quiet) return { update() {}, increment() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let value = 0;
    let lastLog = 0;
    const log = (payload?: Record<string, string | number>) => {
      const now = Date.now();
      if (now - lastLog < 5000 && value < total) return;
      lastLog = now;
      const extra = payload ? " " + Object.entries(payload).map(([k, v]) => `${k}=${v}`).join(" ") : "";
      process.stderr.write(`${label}: ${value}/${total}${extra}\n`);
    };
    return {
      update(v, p) { value = v; log(p); },
      increment(by = 1, p) { value += by; log(p); },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}${opts.fields ? " " + opts.fields : ""}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (v, p) => bar.update(v, p),
    increment: (by = 1, p) => bar.increment(by, p),
    stop: () => bar.stop(),
  };
}
