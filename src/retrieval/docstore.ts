/**
 * @module retrieval/docstore — passages by row number in SQLite (better-sqlite3): `passages(rowid, id, contents)`.
 * Row numbers are the doc ids the BM25 and dense indexes use; `id` is the corpus id (UNIQUE, so duplicates are
 * caught while building). Readers open the file read-only, one connection per thread.
 */
import Database from "better-sqlite3";
import { join } from "node:path";
import type { Passage } from "./types.js";

export const DOCSTORE = "passages.sqlite";

export interface DocStoreWriter {
  /** Insert passage number `row`; returns false when its id is a duplicate. */
  add(row: number, p: Passage): boolean;
  commit(): void;
  close(): void;
}

export function createDocStore(dir: string): DocStoreWriter {
  const db = new Database(join(dir, DOCSTORE));
  db.pragma("journal_mode = OFF");
  db.pragma("synchronous = OFF");
  db.pragma("page_size = 8192");
  db.exec("CREATE TABLE passages (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, contents TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO passages (rowid, id, contents) VALUES (?, ?, ?)");
  let pending = 0;
  db.exec("BEGIN");
  return {
    add(row, p) {
      try {
        insert.run(row, p.id, p.contents);
      } catch (e) {
        if ((e as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") return false;
        throw e;
      }
      if (++pending >= 20_000) {
        db.exec("COMMIT; BEGIN");
        pending = 0;
      }
      return true;
    },
    commit() {
      db.exec("COMMIT");
    },
    close() {
      if (db.inTransaction) db.exec("COMMIT");
      db.close();
    },
  };
}

export interface DocStore {
  count: number;
  get(rows: number[]): Passage[];
  close(): void;
}

export function openDocStore(dir: string): DocStore {
  const db = new Database(join(dir, DOCSTORE), { readonly: true, fileMustExist: true });
  const one = db.prepare<[number], Passage>("SELECT id, contents FROM passages WHERE rowid = ?");
  const count = (db.prepare("SELECT count(*) AS n FROM passages").get() as { n: number }).n;
  return {
    count,
    get(rows) {
      return rows.map((r) => {
        const p = one.get(r);
        if (!p) throw new Error(`docstore: no passage at row ${r}`);
        return p;
      });
    },
    close: () => db.close(),
  };
}
