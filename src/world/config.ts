/** @module world/config — the synthetic multi-hop world's configuration (sizes per split, question mix), as a zod schema. */
import { z } from "zod";

export const SPLITS = ["pretrain", "train", "test"] as const;
export type Split = (typeof SPLITS)[number];

/** Entity counts of ONE split; every split gets its own disjoint entities of these sizes. */
export const SplitSizesSchema = z.object({
  people: z.number().int().min(4).default(300).describe("people per split (half of them married couples)"),
  cities: z.number().int().min(2).default(120).describe("cities per split: ≥ 100 so guessing a birthplace never pays"),
  countries: z.number().int().min(1).default(100).describe("countries per split (each has one capital among the cities)"),
  companies: z.number().int().min(2).default(120).describe("companies per split (each founded by one person)"),
  films: z.number().int().min(1).default(120).describe("films per split (each directed by one person)"),
}).strict();
export type SplitSizes = z.infer<typeof SplitSizesSchema>;

/** Relative weights of question kinds; 2/3/4-hop are compositional chains (MuSiQue style). */
export const QuestionMixSchema = z.object({
  hop1: z.number().min(0).default(0.4).describe("1-hop questions"),
  hop2: z.number().min(0).default(0.25).describe("2-hop compositional questions"),
  hop3: z.number().min(0).default(0.1).describe("3-hop compositional questions"),
  hop4: z.number().min(0).default(0.05).describe("4-hop compositional questions"),
  comparison: z.number().min(0).default(0.1).describe("comparisons of two entities (2 passages)"),
  yesno: z.number().min(0).default(0.1).describe("yes/no questions (1 or 2 passages)"),
}).strict();
export type QuestionMix = z.infer<typeof QuestionMixSchema>;

export const WorldConfigSchema = z.object({
  seed: z.number().int().default(1).describe("generator seed: the same seed gives byte-identical files"),
  sizes: SplitSizesSchema.default(SplitSizesSchema.parse({})).describe("entities per split"),
  questions: z
    .object({
      pretrain: z.number().int().min(0).default(2000).describe("questions over the pre-training world (for content-free format episodes)"),
      train: z.number().int().min(1).default(2000).describe("RL training questions"),
      test: z.number().int().min(1).default(300).describe("held-out test questions"),
    })
    .default({ pretrain: 2000, train: 2000, test: 300 })
    .describe("questions per split"),
  mix: QuestionMixSchema.default(QuestionMixSchema.parse({})).describe("question kinds and their weights"),
  yearRange: z
    .tuple([z.number().int(), z.number().int()])
    .default([1800, 1999])
    .describe("years [first, last]: ≥ 100 values so guessing a year never pays"),
  benchmarks: z
    .object({
      musique: z.number().int().min(1).optional().describe("MuSiQue-like compositional chains (default 200)"),
      hotpotqa: z.number().int().min(1).optional().describe("HotpotQA-like bridges and comparisons (default 200)"),
      "2wiki": z.number().int().min(1).optional().describe("2Wiki-like templated 2-hop questions (default 200)"),
      bamboogle: z.number().int().min(1).optional().describe("Bamboogle-like paraphrased 2-hop questions (default 50)"),
      seed: z.number().int().optional().describe("extra seed mixed into the world seed for the benchmark questions (default 0)"),
    })
    .strict()
    .optional()
    .describe("sizes of the four test benchmarks (bench-<name>.jsonl, world/benchmarks.ts); absent: the defaults"),
}).strict();
export type WorldConfig = z.infer<typeof WorldConfigSchema>;

/** A small world for tests and `--quick`: still ≥ 100 values for each attribute over the whole world. */
export function smallWorldConfig(seed = 1): WorldConfig {
  return WorldConfigSchema.parse({
    seed,
    sizes: { people: 60, cities: 30, countries: 12, companies: 24, films: 24 },
    questions: { pretrain: 200, train: 200, test: 100 },
    benchmarks: { musique: 40, hotpotqa: 40, "2wiki": 40, bamboogle: 20 },
  });
}
