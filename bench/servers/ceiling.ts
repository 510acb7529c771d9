/**
 * The ceiling of each SQL engine: a bare loop of insert / update / update per job (what the
 * least possible job store does: enqueue, claim, complete), one statement per transaction, on
 * the same engine with the same durability settings as the store: SQLite through the same opener
 * (WAL, synchronous=NORMAL), PostgreSQL on the same server (fsync and synchronous_commit on).
 */
import { rm } from "node:fs/promises";
import postgres from "postgres";
import { openSqliteDatabase } from "../../runtimes/node/sqlite.ts";

const PAYLOAD = JSON.stringify({ i: 1 });

/** Jobs per second of the SQLite loop. */
export async function sqliteCeiling(path: string, n: number): Promise<number> {
  for (const suffix of ["", "-wal", "-shm"]) await rm(path + suffix, { force: true });
  const db = await openSqliteDatabase(path);
  db.exec("CREATE TABLE jobs (id TEXT PRIMARY KEY, queue TEXT NOT NULL, status TEXT NOT NULL, payload TEXT NOT NULL, lease_until INTEGER, result TEXT)");
  const insert = db.prepare("INSERT INTO jobs (id, queue, status, payload) VALUES (?, 'default', 'pending', ?)");
  const claim = db.prepare("UPDATE jobs SET status = 'running', lease_until = ? WHERE id = ?");
  const complete = db.prepare("UPDATE jobs SET status = 'completed', result = ? WHERE id = ?");
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const id = `job-${i}`;
    insert.run(id, PAYLOAD);
    claim.run(Date.now() + 30_000, id);
    complete.run("null", id);
  }
  const ms = performance.now() - start;
  db.close();
  return (n / ms) * 1000;
}

/** Jobs per second of the PostgreSQL loop (one connection, each statement awaited). */
export async function postgresCeiling(url: string, n: number): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql`DROP TABLE IF EXISTS bench_ceiling`;
  await sql`CREATE TABLE bench_ceiling (id text PRIMARY KEY, queue text NOT NULL, status text NOT NULL, payload jsonb NOT NULL, lease_until timestamptz, result jsonb)`;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const id = `job-${i}`;
    await sql`INSERT INTO bench_ceiling (id, queue, status, payload) VALUES (${id}, 'default', 'pending', ${PAYLOAD}::jsonb)`;
    await sql`UPDATE bench_ceiling SET status = 'running', lease_until = now() + interval '30 seconds' WHERE id = ${id}`;
    await sql`UPDATE bench_ceiling SET status = 'completed', result = 'null'::jsonb WHERE id = ${id}`;
  }
  const ms = performance.now() - start;
  await sql`DROP TABLE bench_ceiling`;
  await sql.end();
  return (n / ms) * 1000;
}
