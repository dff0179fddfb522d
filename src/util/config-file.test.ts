import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { readConfigFile } from "./config-file.js";

test("readConfigFile: YAML and JSON mappings; empty is {}; missing, bad syntax and non-mappings name the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  const f = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  expect(readConfigFile(f("a.yaml", "a: 1\nb: [x, y]\n"))).toEqual({ a: 1, b: ["x", "y"] });
  expect(readConfigFile(f("a.json", '{"a": 2}'))).toEqual({ a: 2 });
  expect(readConfigFile(f("empty.yaml", ""))).toEqual({});
  expect(() => readConfigFile(join(dir, "none.yaml"))).toThrow(/config file not found: .*none\.yaml/);
  expect(() => readConfigFile(f("bad.json", "{"))).toThrow(/bad\.json: not valid JSON/);
  expect(() => readConfigFile(f("bad.yaml", "a: [1"))).toThrow(/bad\.yaml: not valid YAML/);
  expect(() => readConfigFile(f("list.yaml", "- 1\n"))).toThrow(/list\.yaml: expected a mapping/);
});
