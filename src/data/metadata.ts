/**
 * @module data/metadata — the multi-hop fields a QA record's `metadata` may carry (the synthetic world writes them;
 * other data sets may): `hops`, `kind`, the gold `chain` of passage ids and `chainNames` (the entity each hop is
 * about). Typed and validated where read (the trainer's sampler), so a wrong type is an error naming the field instead
 * of a field silently ignored; every other metadata field passes through untouched.
 */
import { z } from "zod";
import { UserError } from "../util/errors.js";

export const MultiHopMetadata = z.looseObject({
  hops: z.number().int().positive().optional().describe("reasoning hops (passages the answer needs)"),
  kind: z.string().optional().describe("question kind, e.g. compositional | comparison | yesno"),
  chain: z.array(z.string()).optional().describe("ids of the passages along the answer's chain, in hop order"),
  chainNames: z.array(z.string()).optional().describe("the entity each hop of the chain is about (the query that finds it)"),
});
export type MultiHopMetadata = z.infer<typeof MultiHopMetadata>;

/** The record's multi-hop metadata; a field of the wrong type throws a UserError naming `where` and the field. */
export function readMultiHopMetadata(metadata: Record<string, unknown> | undefined, where: string): MultiHopMetadata {
  const r = MultiHopMetadata.safeParse(metadata ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new UserError(`${where}: metadata.${issue.path.join(".")}: ${issue.message}`);
}
