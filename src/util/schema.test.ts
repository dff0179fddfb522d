import { expect, test } from "vitest";
import { z } from "zod";
import { strictConfig } from "./schema.js";

test("strictConfig: defaults as z.object; an unknown key is an error; a removed one says it was removed and why", () => {
  const S = strictConfig({ a: z.number().default(1) }, { old: "it never helped (README history)" });
  expect(S.parse({})).toEqual({ a: 1 });
  const typo = S.safeParse({ aa: 2 });
  expect(typo.success).toBe(false);
  expect(typo.error!.issues[0].message).toBe('unknown option "aa"');
  expect(S.safeParse({ old: 1, aa: 2 }).error!.issues[0].message).toBe('option "old" was removed: it never helped (README history); unknown option "aa"');
});
