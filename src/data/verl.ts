/**
 * @module data/verl — write QA examples as the parquet a verl RL run reads (Search-R1, ReSearch). The row layout
 * follows Search-R1's `scripts/data_process/nq_search.py` (PeterGriffinJin/Search-R1): `data_source`,
 * `prompt = [{role: "user", content: <prompt>}]`, `ability`, `reward_model = {style: "rule", ground_truth: {target:
 * golden_answers}}`, `extra_info = {split, index}`; like that script's `datasets.map`, the source columns `id`,
 * `question` and `golden_answers` stay beside them. The plain `question` column is also what ReSearch's
 * `RLHFDataset` reads with `data.prompt_key=question` (Agent-RL/ReSearch `src/verl/verl/utils/dataset/rl_dataset.py`,
 * which applies its own template); ReSearch's reward (`verl/utils/reward_score/re_search.py`) takes
 * `ground_truth` as a plain list of answers, hence `groundTruth: "list"`.
 */
import type { parquetWriteFile as WriteFile } from "hyparquet-writer";
import { z } from "zod";
import { buildPrompt, getTemplate, TEMPLATE_NAMES } from "../rollout/prompts.js";
import { UserError } from "../util/errors.js";
import { writeAtomicWith } from "../util/fs.js";
import type { QAExample } from "./formats.js";

export const VerlOptionsSchema = z.strictObject({
  dataSource: z.string().min(1).default("research").describe("data_source column (the reward function is picked by it in verl)"),
  split: z.string().min(1).default("train").describe("extra_info.split"),
  ability: z.string().min(1).default("qa").describe("ability column (Search-R1 writes fact-reasoning)"),
  template: z.enum(TEMPLATE_NAMES as [string, ...string[]]).default("research").describe("prompt template of src/rollout/prompts.ts"),
  groundTruth: z.enum(["target", "list"]).default("target").describe("target: {target: [...]} (Search-R1); list: [...] (ReSearch's reward)"),
});
export type VerlOptions = z.infer<typeof VerlOptionsSchema>;

export interface VerlRow {
  id: string;
  question: string;
  golden_answers: string[];
  data_source: string;
  prompt: { role: string; content: string }[];
  ability: string;
  reward_model: { style: string; ground_truth: { target: string[] } | string[] };
  extra_info: { split: string; index: number; question: string; metadata: string | null };
}

/** One verl row; the prompt is the template's (ReSearch base prompt by default) built by rollout/prompts' buildPrompt. */
export function toVerlRow(ex: QAExample, index: number, input: z.input<typeof VerlOptionsSchema> = {}): VerlRow {
  const o = VerlOptionsSchema.parse(input);
  const template = getTemplate(o.template);
  const built = buildPrompt(template, ex.question);
  const prompt = template.chat ? template.messages(ex.question) : [{ role: "user", content: built.text }];
  return {
    id: ex.id,
    question: ex.question,
    golden_answers: ex.golden_answers,
    data_source: o.dataSource,
    prompt,
    ability: o.ability,
    reward_model: { style: "rule", ground_truth: o.groundTruth === "target" ? { target: ex.golden_answers } : ex.golden_answers },
    // metadata as a JSON string: its shape differs per source dataset, and parquet needs one schema per column.
    extra_info: { split: o.split, index, question: ex.question, metadata: ex.metadata ? JSON.stringify(ex.metadata) : null },
  };
}

/** The writer's own schema element type (it pins its own hyparquet). */
type SchemaElement = NonNullable<Parameters<typeof WriteFile>[0]["schema"]>[number];
const str = (name: string): SchemaElement => ({ name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" });
/** A LIST group and its repeated `list` level; the `element` follows. */
const list = (name: string): SchemaElement[] => [
  { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
];

/** The parquet schema pyarrow writes for these rows (3-level LISTs, optional fields), so pandas/datasets read it as usual. */
function verlSchema(groundTruth: "target" | "list"): SchemaElement[] {
  const gt: SchemaElement[] =
    groundTruth === "target"
      ? [{ name: "ground_truth", repetition_type: "OPTIONAL", num_children: 1 }, ...list("target"), str("element")]
      : [...list("ground_truth"), str("element")];
  return [
    { name: "root", num_children: 8 },
    str("id"),
    str("question"),
    ...list("golden_answers"),
    str("element"),
    str("data_source"),
    ...list("prompt"),
    { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
    str("role"),
    str("content"),
    str("ability"),
    { name: "reward_model", repetition_type: "OPTIONAL", num_children: 2 },
    str("style"),
    ...gt,
    { name: "extra_info", repetition_type: "OPTIONAL", num_children: 4 },
    str("split"),
    { name: "index", type: "INT64", repetition_type: "OPTIONAL" },
    str("question"),
    str("metadata"),
  ];
}

const COLUMNS = ["id", "question", "golden_answers", "data_source", "prompt", "ability", "reward_model", "extra_info"] as const;

/**
 * Write rows as one parquet file, atomically (a temp file renamed over `path`). Rows are held in memory (parquet is
 * columnar); 100k ReSearch prompts are ~150 MB of strings.
 */
export async function writeVerlParquet(path: string, rows: VerlRow[], groundTruth: "target" | "list" = "target"): Promise<void> {
  if (rows.length === 0) throw new UserError(`${path}: no examples to write`);
  const { parquetWriteFile } = await import("hyparquet-writer");
  const data = (c: (typeof COLUMNS)[number]) =>
    rows.map((r) => (c === "extra_info" ? { ...r.extra_info, index: BigInt(r.extra_info.index) } : r[c]));
  writeAtomicWith(path, (tmp) =>
    parquetWriteFile({
      filename: tmp,
      columnData: COLUMNS.map((name) => ({ name, data: data(name) })),
      schema: verlSchema(groundTruth),
      rowGroupSize: 10_000,
    }),
  );
}
