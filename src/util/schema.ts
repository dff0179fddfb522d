/** @module util/schema — strict config objects: an unknown key (a typo) is an error, and a key of an option that
 * was removed says so and what to do instead. */
import { z } from "zod";

/** `z.strictObject(shape)` whose unknown-key error names the keys, and for each of `removed` (key → why/what now)
 * says that the option was removed. */
export function strictConfig<T extends z.ZodRawShape>(shape: T, removed: Record<string, string> = {}) {
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return undefined;
      return iss.keys.map((k) => (Object.hasOwn(removed, k) ? `option "${k}" was removed: ${removed[k]}` : `unknown option "${k}"`)).join("; ");
    },
  });
}
