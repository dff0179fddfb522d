/**
 * bench/train — time per GRPO step split into rollout / reward / log-prob recompute / backward / optimizer / sync,
 * and trained tokens per second, for a documented small model: the issue-4 reference dims (dim 128, 4 layers, 4
 * heads, SwiGLU 384) over the trainer's tiny search task (word vocab of 87, 8 prompts × G=5 rollouts, 24-token
 * budget, one micro-batch of 40). Where PyTorch is installed (`apt-get install python3-torch`), the same model, batch
 * and padded length get one AdamW train step in PyTorch in the same run (bench/model-train-torch.py), compared with
 * our backward + optimizer phases. `npm run bench -- train`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initTensorBackend } from "../src/tensor/backend.js";
import { initWeights } from "../src/model/trainable.js";
import { TrainConfig } from "../src/train/config.js";
import { createTrainer, type StepMetrics } from "../src/train/trainer.js";
import { createTrainingSetup } from "../src/train/setup.js";
import { createTinyTask } from "../src/train/testing/tiny-task.js";
import { chooseOpenblasCoreType } from "../src/tensor/openblas.js";

const here = dirname(fileURLToPath(import.meta.url));
const DIMS = { dim: 128, layers: 4, heads: 4, ffn: 384 };
const RUN = { promptsPerStep: 8, groupSize: 5, maxResponseTokens: 24, microBatchSize: 40, klCoef: 0.001, seed: 1 };
const WARMUP = 1;
const STEPS = 3;

type Phase = keyof StepMetrics["seconds"];
const PHASES: Phase[] = ["rollout", "reward", "logprobs", "backward", "optimizer", "sync", "total"];

function torchStep(cfg: { vocab: number; seq: number; batch: number }): { ms_per_step: number; threads: number; torch: string } | { error: string } {
  const py = "/usr/bin/python3";
  chooseOpenblasCoreType(); // PyTorch (Debian) runs on the same OpenBLAS: the same kernels as ours
  if (spawnSync(py, ["-c", "import torch"]).status !== 0) return { error: "python3-torch not installed (apt-get install python3-torch)" };
  const out = execFileSync(py, [join(here, "model-train-torch.py"), JSON.stringify({ ...cfg, ...DIMS, steps: 5, warmup: 2 })], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!);
}

export async function main(): Promise<void> {
  const info = await initTensorBackend({ quiet: true });
  const task = createTinyTask();
  const config = { ...task.modelConfig, hidden_size: DIMS.dim, num_hidden_layers: DIMS.layers, num_attention_heads: DIMS.heads, num_key_value_heads: DIMS.heads, intermediate_size: DIMS.ffn };
  const model = { config, weights: initWeights(config, 1), tokenizer: task.tokenizer };
  const cfg = TrainConfig.parse({ ...RUN, maxSteps: WARMUP + STEPS });
  const setup = createTrainingSetup(cfg, model, { retriever: task.retriever, examples: task.examples, template: task.template });
  const trainer = createTrainer(cfg, setup);
  const ms: StepMetrics[] = [];
  let padded = 0;
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const out = (await trainer.step())!;
    if (i >= WARMUP) ms.push(out.metrics);
    padded = Math.max(padded, ...out.trajectories.map((t) => (t.promptIds?.length ?? 0) + (t.responseIds?.length ?? 0)));
  }
  const params = setup.numParams();
  setup.dispose();
  const mean = (f: (m: StepMetrics) => number) => ms.reduce((a, m) => a + f(m), 0) / ms.length;
  const phase = Object.fromEntries(PHASES.map((p) => [p, mean((m) => m.seconds[p])])) as Record<Phase, number>;
  const trained = mean((m) => m.trained_tokens);
  const tokensPerS = mean((m) => m.tokens_per_s);
  const torch = torchStep({ vocab: config.vocab_size, seq: padded, batch: RUN.promptsPerStep * RUN.groupSize });
  const update = phase.backward + phase.optimizer;

  console.log(`model: dim ${DIMS.dim}, ${DIMS.layers} layers, ${DIMS.heads} heads, SwiGLU ${DIMS.ffn}, vocab ${config.vocab_size} (${params} params); tensor backend ${info.name}`);
  console.log(`batch: ${RUN.promptsPerStep} prompts × G=${RUN.groupSize}, padded length ≤ ${padded}, ${trained.toFixed(0)} trained tokens/step; mean of ${STEPS} steps after ${WARMUP} warm-up`);
  console.log("phase       seconds  share");
  for (const p of PHASES) console.log(`${p.padEnd(10)} ${phase[p].toFixed(3).padStart(8)}  ${((100 * phase[p]) / phase.total).toFixed(0).padStart(4)}%`);
  console.log(`trained tokens/s (whole step): ${tokensPerS.toFixed(0)}`);
  console.log(
    "error" in torch
      ? `PyTorch: ${torch.error}`
      : `PyTorch ${torch.torch} (${torch.threads} threads) one AdamW step on the same model/batch/length: ${(torch.ms_per_step / 1000).toFixed(3)} s; ours backward+optimizer ${update.toFixed(3)} s = ${(update / (torch.ms_per_step / 1000)).toFixed(2)}× PyTorch`,
  );
  mkdirSync(join(here, "results"), { recursive: true });
  writeFileSync(
    join(here, "results", "train.json"),
    JSON.stringify({ model: { ...DIMS, vocab: config.vocab_size, params }, run: RUN, backend: info, steps: STEPS, seconds: phase, trained_tokens_per_step: trained, tokens_per_s: tokensPerS, torch }, null, 2) + "\n",
  );
}
