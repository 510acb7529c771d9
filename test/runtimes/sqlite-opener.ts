/**
 * The SQLite opener checks, run on each runtime with its own engine (bun:sqlite, node:sqlite,
 * better-sqlite3 on Node 20): the handle it returns runs statements through the structural
 * SqliteDatabase interface, on a real file, with the settings several processes need.
 * Runner-agnostic: the caller passes its `test` and its runtime's opener.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SqliteDatabase } from "../../src/drivers/sqlite/database.ts";
import { assert, assertDeepEqual, assertEqual, show } from "../../src/testing/conformance/assert.ts";

export interface SqliteOpenerSuiteOptions {
  name: string;
  test: (name: string, fn: () => Promise<void>) => void;
  open: (path: string, options?: { busyTimeoutMs?: number }) => Promise<SqliteDatabase>;
}

/** Rows as plain objects: node:sqlite returns null-prototype ones. */
const plain = (rows: unknown[]) => rows.map((row) => ({ ...(row as object) }));

export function defineSqliteOpenerSuite(options: SqliteOpenerSuiteOptions): void {
  const test = (title: string, fn: () => Promise<void>) => options.test(`${options.name} sqlite opener: ${title}`, fn);

  async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "portico-sqlite-"));
    try {
      await body(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  test("creates the file and its directory; the handle runs exec, run, get and all with ? parameters", () =>
    withDir(async (dir) => {
      const path = join(dir, "nested", "deeper", "jobs.sqlite");
      const db = await options.open(path);
      try {
        db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER)");
        const insert = db.prepare("INSERT INTO t (name, n) VALUES (?, ?)");
        assertEqual(Number(insert.run("a", 1).changes), 1, "one row inserted");
        insert.run("b", 2);
        insert.run("c", null);
        const update = db.prepare("UPDATE t SET n = n + ? WHERE n IS NOT NULL");
        assertEqual(Number(update.run(10).changes), 2, "the update changed the two rows with n");
        assertDeepEqual({ ...(db.prepare("SELECT name, n FROM t WHERE name = ?").get("b") as object) }, { name: "b", n: 12 });
        assertDeepEqual(plain(db.prepare("SELECT name FROM t WHERE id > ? ORDER BY id").all(1)), [{ name: "b" }, { name: "c" }]);
        const none = db.prepare("SELECT name FROM t WHERE name = ?").get("zzz");
        assert(none === undefined || none === null, `no row gives undefined or null, got ${show(none)}`);
        assertEqual(Number(db.prepare("DELETE FROM t WHERE name = ?").run("zzz").changes), 0, "nothing deleted");
      } finally {
        db.close();
      }
      assert((await stat(path)).size > 0, "the database file exists on disk");
    }));

  test("WAL journal, busy timeout (default and chosen) and synchronous=NORMAL are set", () =>
    withDir(async (dir) => {
      const path = join(dir, "jobs.sqlite");
      const db = await options.open(path);
      const pragma = (name: string) => Object.values(db.prepare(`PRAGMA ${name}`).get() as object)[0];
      try {
        assertEqual(String(pragma("journal_mode")).toLowerCase(), "wal", "journal_mode");
        assertEqual(Number(pragma("busy_timeout")), 5000, "default busy_timeout");
        assertEqual(Number(pragma("synchronous")), 1, "synchronous = NORMAL (1)");
      } finally {
        db.close();
      }
      const again = await options.open(path, { busyTimeoutMs: 250 });
      try {
        assertEqual(Number(Object.values(again.prepare("PRAGMA busy_timeout").get() as object)[0]), 250, "chosen busy_timeout");
      } finally {
        again.close();
      }
    }));

  test("two handles on one file: committed writes of one are read by the other; while one holds the write lock the other (busy timeout 0) fails busy", () =>
    withDir(async (dir) => {
      const path = join(dir, "shared.sqlite");
      const a = await options.open(path);
      const b = await options.open(path, { busyTimeoutMs: 0 });
      try {
        a.exec("CREATE TABLE t (v TEXT)");
        a.prepare("INSERT INTO t (v) VALUES (?)").run("from a");
        assertDeepEqual(plain(b.prepare("SELECT v FROM t").all()), [{ v: "from a" }]);
        a.exec("BEGIN IMMEDIATE");
        let error: unknown;
        try {
          b.prepare("INSERT INTO t (v) VALUES (?)").run("from b");
        } catch (caught) {
          error = caught;
        }
        assert(error !== undefined && /busy|locked/i.test(String((error as Error).message)), `b's write fails busy while a holds the lock, got ${show(error)}`);
        a.exec("COMMIT");
        b.prepare("INSERT INTO t (v) VALUES (?)").run("from b");
        assertDeepEqual(plain(a.prepare("SELECT v FROM t ORDER BY rowid").all()), [{ v: "from a" }, { v: "from b" }]);
      } finally {
        b.close();
        a.close();
      }
    }));

  test("bad options are refused with an error naming them, before anything is opened", () =>
    withDir(async (dir) => {
      const path = join(dir, "never", "x.sqlite");
      for (const busyTimeoutMs of [-1, 1.5, Number.NaN]) {
        let error: unknown;
        await options.open(path, { busyTimeoutMs }).catch((caught) => (error = caught));
        assert(error instanceof RangeError && /busyTimeoutMs/.test(error.message), `busyTimeoutMs ${busyTimeoutMs}: ${show(error)}`);
      }
      let missing = false;
      await stat(join(dir, "never")).catch(() => (missing = true));
      assert(missing, "no directory was created");
    }));
}
