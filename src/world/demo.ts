/**
 * @module world/demo — `research demo`: world → BM25 index → base model (gates) → GRPO with the ReSearch loop →
 * evaluation of the base and trained policies, the four FlashRAG baselines and the oracle on held-out test questions
 * → DIR/report.json + report.md. Every stage reuses what a previous (killed) run left: the world and the index when
 * current, the training run directory (resumed from its last checkpoint), and each evaluation run directory.
 *
 *   DIR/world/  DIR/index/  DIR/base-gates.json  DIR/train/ (GRPO run dir)  DIR/eval/<method>/ (eval run dirs)
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import type { Retriever } from "../retrieval/types.js";
import type { TrainConfig } from "../train/config.js";
import { openOpenblas, pinReproducibleCoreType } from "../tensor/openblas.js";
import { engineReport, pinReproducibleEngine } from "../model/engine-select.js";
import { UserError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import { buildWorld, hopStats, readWorldBenchmark, worldIsCurrent, worldManifest, writeWorld } from "./build.js";
import { BENCHMARK_NAMES, freshTestQuestions, type BenchmarkName } from "./benchmarks.js";
import type { ReflectionGold } from "../eval/reflection.js";
import { WorldConfigSchema } from "./config.js";
import { emBy, REFLECTION_FIELDS, methodReport, questionType, writeDemoReport, type DemoMethod, type DemoReport, type MethodReport, type TrainPoint } from "./demo-report.js";
import { formatGates, runGates, type GateReport } from "./gates.js";
import { runOracle } from "./oracle.js";
import type { WorldQuestion } from "./questions.js";
import { readConfigFile } from "../util/config-file.js";
import { worldVocab } from "./vocab.js";
import { saveWordLevelTokenizer } from "./tokenizer.js";

export const DemoConfigSchema = z.object({
  quick: z.boolean().default(false).describe("≤ 8 minutes: fewer GRPO steps and test questions, same world and base model"),
  worldSeed: z.number().int().default(1).describe("world seed: must be the world the base model was pre-trained on"),
  baseModel: z.string().default("models/world-base").describe("the shipped base model (HF directory)"),
  trainConfig: z.string().default("examples/train-quick.yaml").describe("GRPO config (TrainConfig); model/data/index are set by the demo"),
  trainSteps: z.number().int().min(0).default(500).describe("GRPO steps of the full demo (quick: quickTrainSteps)"),
  quickTrainSteps: z.number().int().min(0).default(40).describe("GRPO steps with --quick"),
  testQuestions: z.number().int().min(1).default(300).describe("held-out test questions evaluated (full: all 300 of the world)"),
  quickTestQuestions: z.number().int().min(1).default(60).describe("test questions with --quick"),
  gatesEpisodes: z.number().int().min(0).default(256).describe("episodes sampled for the base-model gates (quick: a third): 256 keeps the sampling error of a ~50% rate near ±3 points"),
  researchTopN: z.number().int().min(1).default(1).describe("passages per ReSearch search (oracle EM is 1.0 at top-1)"),
  baselineTopK: z.number().int().min(1).default(3).describe("passages per baseline retrieval"),
  baselineMaxTokens: z.number().int().min(1).default(16).describe("new tokens per baseline generation (FlashRAG: 32; world answers are ≤ 4 words)"),
  maxSearches: z.number().int().min(1).default(3).describe("cap on searches per ReSearch rollout"),
  maxResponseTokens: z.number().int().min(8).default(160).describe("ReSearch response budget at evaluation (the GRPO budget of examples/train-quick.yaml)"),
  concurrency: z.number().int().min(1).default(8).describe("questions evaluated at once (the engine batches them)"),
  reproducibleKernels: z
    .boolean()
    .default(true)
    .describe("pin OpenBLAS to its Haswell kernels on AVX2 machines (unless OPENBLAS_CORETYPE is set), so the same seeds give the same report on any of them"),
  // Options added after the report's numbers were fixed: all absent by default, so the default report is unchanged.
  benchmarks: z
    .boolean()
    .optional()
    .describe("also evaluate every method and the oracle on the world's four test benchmarks (bench-<name>.jsonl: musique, hotpotqa, 2wiki, bamboogle) and print the paper's Table 2 (off by default: about 2× the evaluation time)"),
  benchmarkQuestions: z.number().int().min(1).optional().describe("questions per benchmark evaluated (default: all of each file; quick: 30)"),
  seed: z.number().int().optional().describe("GRPO seed (TrainConfig.seed; default: the train config's); `research demo --seeds` sets it per run"),
  testQuestionSeed: z
    .number()
    .int()
    .optional()
    .describe("evaluate on a fresh sample of test questions from this seed (same test entities, templates and mix; DIR/world/test-s<seed>.jsonl, DIR/eval-test-s<seed>/) instead of test.jsonl"),
}).strict();
export type DemoConfig = z.infer<typeof DemoConfigSchema>;

const log = (s: string) => process.stderr.write(s + "\n");

/** The base model's word-level vocabulary must be the world's (it was pre-trained on it). */
function checkVocab(modelDir: string, world: ReturnType<typeof buildWorld>): void {
  const path = join(modelDir, "tokenizer.json");
  if (!existsSync(path)) throw new UserError(`${modelDir}: tokenizer.json not found`);
  const have = (JSON.parse(readFileSync(path, "utf8")) as { model?: { vocab?: Record<string, number> } }).model?.vocab ?? {};
  const want = worldVocab(world).vocab;
  const same = Object.keys(want).length === Object.keys(have).length && Object.entries(want).every(([k, v]) => have[k] === v);
  if (!same) throw new UserError(`${modelDir} was pre-trained on a different world than seed ${world.config.seed} (vocabularies differ); rebuild it: research world pretrain`);
}

/**
 * A demo directory belongs to one base model: its gates, GRPO checkpoints and evaluations were made from it, so
 * resuming with other weights (e.g. after an upgrade ships a new base) would mix two models. The weights' hash is
 * recorded on the first run and checked on every rerun.
 */
function checkSameBase(dir: string, baseDir: string): void {
  const weights = join(baseDir, "model.safetensors");
  if (!existsSync(weights)) return;
  const hash = createHash("sha256").update(readFileSync(weights)).digest("hex");
  const path = join(dir, "base-model.json");
  if (existsSync(path)) {
    const was = (JSON.parse(readFileSync(path, "utf8")) as { sha256?: string }).sha256;
    if (was !== hash) throw new UserError(`${dir} was made from a different base model than ${baseDir} (weights differ); use a new --out or delete ${dir}`);
  } else if (existsSync(join(dir, "train")) || existsSync(join(dir, "base-gates.json"))) {
    throw new UserError(`${dir} holds a run made before demo directories recorded their base model; use a new --out or delete ${dir}`);
  } else writeJsonAtomic(path, { dir: baseDir, sha256: hash });
}

export interface DemoResult {
  report: DemoReport;
  dir: string;
}

export async function runDemo(outDir: string, cfg: DemoConfig): Promise<DemoResult> {
  const dir = resolve(outDir);
  const quick = cfg.quick;
  if (cfg.reproducibleKernels) {
    pinReproducibleCoreType(); // before OpenBLAS loads (the trainer's matmuls)
    pinReproducibleEngine(); // before ggml opens (the gates' engine is its first user): haswell kernels, fixed threads
  }
  // 1) world
  const worldCfg = WorldConfigSchema.parse({ seed: cfg.worldSeed });
  const worldDir = join(dir, "world");
  const world = buildWorld(worldCfg);
  if (!worldIsCurrent(worldDir, worldCfg)) {
    log(`[1/6] world: building seed ${cfg.worldSeed} → ${worldDir}`);
    writeWorld(world, worldDir);
    saveWordLevelTokenizer(worldDir, worldVocab(world), 2048);
  } else log(`[1/6] world: reusing ${worldDir}`);
  const manifest = worldManifest(world);

  // 2) index (the retrieval module's BM25 index on disk)
  const { buildIndex, openRetriever } = await import("../retrieval/index.js");
  const indexDir = join(dir, "index");
  if (!existsSync(join(indexDir, "index.json"))) {
    log(`[2/6] index: BM25 over ${world.corpus.length} passages → ${indexDir}`);
    await buildIndex({ corpus: join(worldDir, "corpus.jsonl"), out: indexDir, kind: "bm25", overwrite: true, quiet: true });
  } else log(`[2/6] index: reusing ${indexDir}`);
  const retriever: Retriever = await openRetriever({ index: indexDir });

  try {
    // 3) base model + gates
    let baseDir = resolve(cfg.baseModel);
    if (!existsSync(join(baseDir, "config.json"))) {
      baseDir = join(dir, "base-model");
      log(`[3/6] base model: ${cfg.baseModel} not found; pre-training one into ${baseDir} (long; resumable)`);
      const { PretrainConfigSchema, pretrainBaseModel } = await import("./pretrain.js");
      const ptFile = "examples/pretrain-base.yaml";
      await pretrainBaseModel(worldDir, baseDir, PretrainConfigSchema.parse(existsSync(ptFile) ? readConfigFile(ptFile) : {}));
    } else log(`[3/6] base model: ${baseDir}`);
    checkVocab(baseDir, world);
    checkSameBase(dir, baseDir);
    const gatesPath = join(dir, "base-gates.json");
    const nGates = quick ? Math.ceil(cfg.gatesEpisodes / 3) : cfg.gatesEpisodes;
    let gates: GateReport | undefined = existsSync(gatesPath) ? (JSON.parse(readFileSync(gatesPath, "utf8")) as GateReport) : undefined;
    // the GRPO config (validated before any work), whose rollout temperature the gates sample at: they measure the
    // episodes RL starts from
    const { resolveTrainConfig } = await import("../train/config.js");
    const trainSteps = quick ? cfg.quickTrainSteps : cfg.trainSteps;
    const rawTrain = existsSync(cfg.trainConfig) ? readConfigFile(cfg.trainConfig) : {};
    const trainConfig = resolveTrainConfig({ ...rawTrain, model: baseDir, data: join(worldDir, "train.jsonl"), index: indexDir, maxSteps: Math.max(1, trainSteps), ...(cfg.seed !== undefined ? { seed: cfg.seed } : {}) }, cfg.trainConfig);
    const gatesTemperature = trainConfig.temperature;
    if (nGates > 0 && (gates?.episodes !== nGates || (gates.temperature ?? 1) !== gatesTemperature)) {
      gates = await runGates({ modelDir: baseDir, worldDir, n: nGates, topN: cfg.researchTopN, maxSearches: cfg.maxSearches, seed: 1, retriever, maxResponseTokens: cfg.maxResponseTokens, temperature: gatesTemperature });
      writeJsonAtomic(gatesPath, gates);
    }
    if (gates) log(formatGates(gates));
    const pretrainInfo = existsSync(join(baseDir, "pretrain.json")) ? (JSON.parse(readFileSync(join(baseDir, "pretrain.json"), "utf8")) as Record<string, unknown>) : {};

    // 4) GRPO
    const { steps, trainedWeights, loaded } = await trainStage(dir, baseDir, world.questions.train, retriever, trainConfig, trainSteps);

    // 5) evaluation (test.jsonl, or a fresh test sample with testQuestionSeed)
    const nTest = quick ? cfg.quickTestQuestions : cfg.testQuestions;
    const fresh = cfg.testQuestionSeed;
    const testQs = fresh === undefined ? world.questions.test.slice(0, nTest) : freshTestQuestions(world, fresh, nTest);
    if (fresh !== undefined) writeFileAtomic(join(worldDir, `test-s${fresh}.jsonl`), testQs.map((q) => JSON.stringify(q) + "\n").join(""));
    const evalRoot = join(dir, fresh === undefined ? "eval" : `eval-test-s${fresh}`);
    const byId = new Map(testQs.map((q) => [q.id, q]));
    const engines = evalEngines(loaded, trainedWeights, cfg);
    const evalOut = await evalStage(evalRoot, testQs, retriever, engines, cfg, { dataset: fresh === undefined ? "world-test" : `world-test-s${fresh}` });
    const evalReport: DemoReport["eval"] = {};
    for (const [m, records] of Object.entries(evalOut)) evalReport[m as keyof DemoReport["eval"]] = methodReport(records, byId);
    // the oracle: the gold chain through the same retriever
    evalReport.oracle = await oracleReport(testQs, retriever, cfg, join(evalRoot, "oracle"));

    // 5b) the four benchmarks (option `benchmarks`): every method on each, the paper's Table 2
    let benchmarks: DemoReport["benchmarks"];
    if (cfg.benchmarks) {
      const nBench = cfg.benchmarkQuestions ?? (quick ? 30 : undefined);
      const by: NonNullable<DemoReport["benchmarks"]>["by_benchmark"] = {};
      const runDirs: string[] = [];
      for (const b of BENCHMARK_NAMES) {
        const qs = readWorldBenchmark(worldDir, b).slice(0, nBench);
        const root = join(dir, "eval-bench", b);
        const out = await evalStage(root, qs, retriever, engines, cfg, { dataset: `world-${b}`, benchmark: b });
        const qById = new Map<string, WorldQuestion>(qs.map((q) => [q.id, q]));
        const rep: Partial<Record<DemoMethod, MethodReport>> = {};
        for (const [m, records] of Object.entries(out)) rep[m as DemoMethod] = methodReport(records, qById);
        // the oracle's summary is not an eval run's: beside eval-bench/, so `research eval table DIR/eval-bench/*` reads only runs
        rep.oracle = await oracleReport(qs, retriever, cfg, join(dir, "eval-bench-oracle", b));
        by[b] = { n: qs.length, questions: hopStats(qs), methods: rep };
        runDirs.push(...Object.keys(out).map((m) => join(root, m)));
      }
      const { buildTable, loadRuns, renderMarkdown } = await import("../eval/table.js");
      const table = buildTable(loadRuns(runDirs), ["em", "f1"]);
      benchmarks = { trained_on: "train.jsonl (MuSiQue-like compositional chains)", table, table_md: renderMarkdown(table), by_benchmark: by };
    }

    // 6) report
    const report: DemoReport = {
      train: { steps },
      eval: evalReport,
      world: { seed: manifest.seed, passages: manifest.passages, entities: manifest.entities, questions: manifest.questions, sharedNameRate: manifest.sharedNameRate, distinctYears: manifest.distinctYears },
      base_model: { dir: baseDir, params: [...loaded.weights.values()].reduce((a, t) => a + t.data.length, 0) - (loaded.config.tie_word_embeddings && loaded.weights.has("lm_head.weight") ? loaded.weights.get("lm_head.weight")!.data.length : 0), pretrain: pretrainInfo, gates: gates ?? null },
      config: { demo: cfg, train: trainConfig, openblas: openOpenblas()?.core ?? null, engine: engineReport() }, // OpenBLAS kernel set (null: wasm matmul)
      ...(fresh !== undefined ? { test_sample: { seed: fresh, file: join(worldDir, `test-s${fresh}.jsonl`), questions: hopStats(testQs) } } : {}),
      ...(benchmarks ? { benchmarks } : {}),
    };
    log(`[6/6] report → ${join(dir, "report.md")}`);
    await writeDemoReport(dir, report, evalOut.research ?? []);
    return { report, dir };
  } finally {
    await retriever.close?.();
  }
}

async function trainStage(dir: string, baseDir: string, trainQs: WorldQuestion[], retriever: Retriever, trainConfig: TrainConfig, steps: number) {
  const { runSession } = await import("../train/session.js");
  const { trainExampleOf } = await import("../train/sampler.js");
  const { readMetrics, latestCheckpoint } = await import("../train/run.js");
  const { loadModel } = await import("../model/load.js");
  const { createTrainingSetup } = await import("../train/setup.js");
  const { initTensorBackend } = await import("../tensor/backend.js");
  await initTensorBackend();
  const loaded = await loadModel(baseDir);
  const runDir = join(dir, "train");
  if (steps === 0) return { steps: [] as TrainPoint[], trainedWeights: loaded.weights, loaded };
  // the same setup as `research train` (policy, AdamW, the native engine on the same weights, weight sync); the engine
  // batches a whole step's rollouts at once
  const setup = createTrainingSetup(trainConfig, loaded, {
    retriever, examples: trainQs.map((q) => trainExampleOf(q)), template: "research", maxBatch: trainConfig.promptsPerStep * trainConfig.groupSize,
  });
  const { createProgress } = await import("../util/progress.js");
  const bar = createProgress("[4/6] GRPO", trainConfig.maxSteps ?? 1, { fields: "reward={reward} f1={f1} searches={searches}" });
  const resume = latestCheckpoint(runDir) !== null || existsSync(join(runDir, "metrics.jsonl"));
  await runSession({
    runDir, config: trainConfig, modelConfig: loaded.config, tokenizer: loaded.tokenizer, resume,
    deps: setup,
    onStart: (s) => bar.update(s),
    onStep: (m) => bar.update(m.step, { reward: m.reward_mean.toFixed(3), f1: m.answer_f1_mean.toFixed(3), searches: m.searches_mean.toFixed(2) }),
  });
  bar.stop();
  const trainedWeights = setup.exportWeights();
  setup.dispose();
  const points = readMetrics(runDir).map((m) => {
    const r = m as Record<string, number> & { seconds?: { total?: number } };
    const reflection = Object.fromEntries(REFLECTION_FIELDS.filter((k) => k in r).map((k) => [k, r[k] ?? null]));
    return { step: r.step, reward_mean: r.reward_mean, answer_f1_mean: r.answer_f1_mean, format_rate: r.format_rate, searches_mean: r.searches_mean, response_tokens_mean: r.response_tokens_mean, seconds: r.seconds?.total ?? 0, ...reflection } satisfies TrainPoint;
  });
  return { steps: points, trainedWeights, loaded };
}

type Engines = ReturnType<typeof evalEngines>;

/** The two policies' backends the evaluation uses: the base model (baselines, base-research) and the trained one. */
function evalEngines(loaded: import("../model/generate.js").LoadedModel, trainedWeights: import("../model/weights.js").WeightMap, cfg: DemoConfig) {
  return { loaded, trainedWeights, cfg, made: undefined as undefined | { base: import("../rollout/types.js").PolicyBackend; trained: import("../rollout/types.js").PolicyBackend } };
}

/** The oracle (the gold chain through the same retriever) on `qs`, its summary written to `outDir`. */
async function oracleReport(qs: WorldQuestion[], retriever: Retriever, cfg: DemoConfig, outDir: string): Promise<MethodReport> {
  const byId = new Map(qs.map((q) => [q.id, q]));
  const oracle = await runOracle(qs, retriever, { topN: cfg.researchTopN });
  writeJsonAtomic(join(outDir, "summary.json"), oracle);
  return {
    n: oracle.n, em: oracle.em, f1: oracle.f1, acc: oracle.acc, searches_mean: oracle.searches_mean,
    by_hops: Object.fromEntries(Object.entries(oracle.by_hops).map(([h, b]) => [h, { ...b, searches_mean: Number(h) }])),
    by_type: emBy(oracle.items, (it) => questionType(byId.get(it.id)), (it) => it.em),
  };
}

/**
 * Every method on `testQs`, each into `root/<label>/`. The test set's runs are labelled by method (as always); a
 * benchmark's runs by policy, `world-base` or `world-trained`, so `research eval table` prints the paper's layout
 * (model × method rows, benchmark columns).
 */
async function evalStage(root: string, testQs: WorldQuestion[], retriever: Retriever, engines: Engines, cfg: DemoConfig, opts: { dataset: string; benchmark?: BenchmarkName }) {
  const { runEval, readRecords } = await import("../eval/run.js");
  const { getMethod } = await import("../eval/methods/index.js");
  const { createRolloutRunner } = await import("../eval/methods/research.js");
  const { createEngine } = await import("../model/generate.js");
  const { createNativeBackend } = await import("../rollout/backends/native.js");
  const { loaded, trainedWeights } = engines;
  const items = testQs.map((q) => ({ id: q.id, question: q.question, goldenAnswers: q.golden_answers }));
  const gold = new Map<string, ReflectionGold>(testQs.map((q) => [q.id, { kind: q.metadata.kind, chainNames: q.metadata.chainNames }]));
  engines.made ??= {
    base: createNativeBackend({ engine: createEngine(loaded, { maxBatch: cfg.concurrency }), name: "native:world-base" }),
    trained: createNativeBackend({ engine: createEngine({ ...loaded, weights: trainedWeights }, { maxBatch: cfg.concurrency }), name: "native:world-trained" }),
  };
  const { base: baseBackend, trained: trainedBackend } = engines.made;
  const plan = [
    ["base-research", "research", baseBackend],
    ["research", "research", trainedBackend],
    ["naive-gen", "naive-gen", baseBackend],
    ["naive-rag", "naive-rag", baseBackend],
    ["iter-retgen", "iter-retgen", baseBackend],
    ["ircot", "ircot", baseBackend],
  ] as const;
  const out: Record<string, import("../eval/summary.js").EvalRecord[]> = {};
  for (const [i, [label, methodName, backend]] of plan.entries()) {
    const outDir = join(root, label);
    const runLabel = opts.benchmark === undefined ? label : backend === trainedBackend ? "world-trained" : "world-base";
    log(`[5/6] eval ${i + 1}/${plan.length}: ${label} on ${items.length} ${opts.benchmark ? `${opts.benchmark} benchmark` : "test"} questions → ${outDir}`);
    const rollout = createRolloutRunner({ backend, retriever, topN: cfg.researchTopN, maxSearches: cfg.maxSearches, maxResponseTokens: cfg.maxResponseTokens, temperature: 0, template: "research", seed: 1 });
    await runEval({
      method: getMethod(methodName), items, dataset: opts.dataset, label: runLabel, outDir, concurrency: cfg.concurrency,
      ctx: { backend, retriever, topK: cfg.baselineTopK, gen: { maxTokens: cfg.baselineMaxTokens, temperature: 0, seed: 1 }, rollout },
      settings: { demo: label, topK: cfg.baselineTopK, topN: cfg.researchTopN },
      gold,
    });
    const recs = await readRecords(outDir);
    out[label] = items.map((it) => recs.get(it.id)).filter((r): r is NonNullable<typeof r> => r !== undefined);
  }
  return out;
}
