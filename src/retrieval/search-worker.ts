/**
 * @module retrieval/search-worker — one search thread: opens the index over the parent's shared buffers
 * (read-only SQLite connection of its own) and answers search jobs one at a time.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openEngine, type DenseChoice, type SearchMode, type SharedBuffers } from "./engine.js";

export interface WorkerJob {
  id: number;
  queries: string[];
  topN: number;
  mode?: SearchMode;
}
export type WorkerReply =
  | { id: number; hits: import("./types.js").SearchHit[][] }
  | { id: number; error: string; user: boolean };

const { index, buffers, dense } = workerData as { index: string; buffers: SharedBuffers; dense?: DenseChoice };
const engine = await openEngine(index, { buffers, dense });
const port = parentPort!;
port.on("message", (job: WorkerJob) => {
  engine.search(job.queries, job.topN, job.mode).then(
    (hits) => port.postMessage({ id: job.id, hits } satisfies WorkerReply),
    (e: Error) => port.postMessage({ id: job.id, error: e.message, user: e.name === "UserError" } satisfies WorkerReply),
  );
});
port.postMessage({ ready: true });
