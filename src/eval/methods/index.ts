/** @module eval/methods — the registry of evaluation methods (the rows of the paper's Table 2). */
import { UserError } from "../../util/errors.js";
import { METHOD_NAMES, type Method, type MethodName } from "../types.js";
import { ircot } from "./ircot.js";
import { iterRetGen } from "./iter-retgen.js";
import { naiveGen } from "./naive-gen.js";
import { naiveRag } from "./naive-rag.js";
import { research } from "./research.js";

export const METHODS: Record<MethodName, Method> = {
  "naive-gen": naiveGen,
  "naive-rag": naiveRag,
  "iter-retgen": iterRetGen,
  ircot,
  research,
};

export function getMethod(name: string): Method {
  if (!(METHOD_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown method "${name}"; available: ${METHOD_NAMES.join(", ")}`);
  }
  return METHODS[name as MethodName];
}
