/**
 * Benchmarks: `npm run bench` runs all, `npm run bench -- model retrieval` runs the named ones.
 * Each bench/<name>.bench.ts exports `main(): Promise<void>` that prints a table and writes bench/results/<name>.json.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .map((f) => f.replace(/\.bench\.ts$/, ""))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
// A name selects that benchmark, or every benchmark it prefixes (`model` → model-generate, model-train).
const names: string[] = [];
for (const name of wanted.length ? wanted : available) {
  const matched = available.includes(name) ? [name] : available.filter((a) => a.startsWith(`${name}-`));
  if (!matched.length) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(", ")}`);
    process.exit(2);
  }
  for (const m of matched) if (!names.includes(m)) names.push(m);
}
for (const name of names) {
  console.log(`\n=== bench: ${name} ===`);
  const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as { main: () => Promise<void> };
  await mod.main();
}
