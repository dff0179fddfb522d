/** @module data/testdata/count-qa — count a QA file's rows by streaming; run under a small heap by the streaming test. */
import { loadQA } from "../qa.js";

let rows = 0;
let peak = 0;
for await (const _ex of loadQA(process.argv[2])) {
  if (++rows % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
}
process.stdout.write(JSON.stringify({ rows, peakHeapMB: Math.round(peak / 2 ** 20) }) + "\n");
