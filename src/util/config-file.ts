/** @module util/config-file — read a YAML or JSON config file as a mapping of options (bad syntax names the file). */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { UserError } from "./errors.js";

/** The file's mapping (`.json`: JSON, else YAML); an empty file is `{}`. A missing file, bad syntax or a
 * non-mapping top level throws a UserError naming the file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UserError(`config file not found: ${path}`);
  }
  let value: unknown;
  try {
    value = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UserError(`${path}: not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new UserError(`${path}: expected a mapping of options`);
  return value as Record<string, unknown>;
}
