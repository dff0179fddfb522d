/**
 * @module retrieval/pool — a pool of search worker threads over one index. The parent loads the index once
 * into SharedArrayBuffers; every worker maps them (no copies) and opens its own read-only SQLite connection.
 * Batches are split into chunks so one large batch uses every core.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { UserError } from "../util/errors.js";
import { openEngine, type DenseChoice, type IndexMeta, type SearchMode } from "./engine.js";
import type { WorkerJob, WorkerReply } from "./search-worker.js";
import type { SearchHit } from "./types.js";
import { startWorker } from "./worker-url.js";

export interface SearchPool {
  meta: IndexMeta;
  size: number;
  /** Jobs queued or running. */
  pending(): number;
  /** The live worker threads (a dead one is replaced). */
  workers(): Worker[];
  search(queries: string[], topN: number, mode?: SearchMode): Promise<SearchHit[][]>;
  close(): Promise<void>;
}

/** Queries per job: small enough to spread a batch over all workers, large enough to amortize messaging. */
const CHUNK = 16;

export async function createSearchPool(opts: { index: string; workers?: number; dense?: DenseChoice }): Promise<SearchPool> {
  const size = Math.max(1, opts.workers ?? availableParallelism());
  // Load once (shared), validate, then hand the buffers to the workers.
  const engine = await openEngine(opts.index, { shared: true, dense: opts.dense });
  const buffers = engine.buffers();
  const meta = engine.meta;
  engine.close();
  let closed = false;

  interface Job extends WorkerJob { resolve(h: SearchHit[][]): void; reject(e: Error): void }
  const queue: Job[] = [];
  const idle: Worker[] = [];
  const running = new Map<Worker, Job>();
  let nextId = 0;

  const dispatch = () => {
    while (idle.length && queue.length) {
      const w = idle.pop()!;
      const job = queue.shift()!;
      running.set(w, job);
      w.postMessage({ id: job.id, queries: job.queries, topN: job.topN, mode: job.mode } satisfies WorkerJob);
    }
  };

  const workers = new Set<Worker>();
  /** Start one worker; a worker that dies (not by close) fails its job and is replaced. */
  const spawn = () =>
    new Promise<Worker>((resolve, reject) => {
      const w = startWorker(new URL("./search-worker.js", import.meta.url), { workerData: { index: opts.index, buffers, dense: opts.dense } });
      w.once("error", reject);
      w.once("message", () => {
        w.off("error", reject);
        workers.add(w);
        w.on("message", (r: WorkerReply) => {
          const job = running.get(w);
          running.delete(w);
          idle.push(w);
          if (job) {
            if ("hits" in r) job.resolve(r.hits);
            else job.reject(r.user ? new UserError(r.error) : new Error(r.error));
          }
          dispatch();
        });
        w.on("error", (e) => {
          running.get(w)?.reject(e);
          running.delete(w);
        });
        w.on("exit", () => {
          workers.delete(w);
          running.get(w)?.reject(new Error("search worker exited"));
          running.delete(w);
          const i = idle.indexOf(w);
          if (i >= 0) idle.splice(i, 1);
          if (!closed) spawn().then(dispatch, () => undefined);
        });
        idle.push(w);
        resolve(w);
      });
    });
  await Promise.all(Array.from({ length: size }, spawn));

  const submit = (queries: string[], topN: number, mode?: SearchMode) =>
    new Promise<SearchHit[][]>((resolve, reject) => {
      if (closed) return reject(new Error("search pool is closed"));
      queue.push({ id: nextId++, queries, topN, mode, resolve, reject });
      dispatch();
    });

  return {
    meta,
    size,
    pending: () => queue.length + running.size,
    workers: () => [...workers],
    async search(queries, topN, mode) {
      if (queries.length <= CHUNK) return submit(queries, topN, mode);
      const parts: Promise<SearchHit[][]>[] = [];
      for (let i = 0; i < queries.length; i += CHUNK) parts.push(submit(queries.slice(i, i + CHUNK), topN, mode));
      return (await Promise.all(parts)).flat();
    },
    async close() {
      closed = true;
      for (const j of queue.splice(0)) j.reject(new Error("search pool is closed"));
      await Promise.all([...workers].map((w) => w.terminate()));
    },
  };
}
