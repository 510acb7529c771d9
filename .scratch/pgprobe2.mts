import postgres from "postgres";
import { JobService } from "/work/wt/sqlinfra/src/core/index.ts";
import { PostgresJobQueue } from "/work/wt/sqlinfra/src/drivers/postgres/index.ts";
const url = process.argv[2]!;
const queue = new PostgresJobQueue({ url }, { schema: "probe2" });
const svc = new JobService({ queue });
for (let i = 0; i < 100_000; i += 1000) await svc.createJobs(Array.from({ length: 1000 }, (_, j) => ({ jobType: "noop", payload: { i: i + j } })));
await queue.close();
const sql = postgres(url, { max: 1 });
const DB_NOW = "floor(extract(epoch from now()) * 1000)::bigint";
const q = `EXPLAIN (ANALYZE, BUFFERS) WITH ready AS (
        SELECT seq, priority, run_at FROM probe2.jobs WHERE queue = 'default' AND token IS NULL AND wake_at IS NOT NULL AND run_at <= ${Date.now()}
        ORDER BY priority DESC, run_at, seq LIMIT 10 FOR UPDATE SKIP LOCKED),
      expired AS (
        SELECT seq, priority, run_at FROM probe2.jobs WHERE queue = 'default' AND token IS NOT NULL AND wake_at <= ${DB_NOW}
        ORDER BY wake_at LIMIT 10 FOR UPDATE SKIP LOCKED),
      picked AS (SELECT seq FROM (SELECT * FROM ready UNION ALL SELECT * FROM expired) AS c ORDER BY priority DESC, run_at, seq LIMIT 10)
      UPDATE probe2.jobs AS t SET status = 'running', started_at = ${Date.now()}, attempts = t.attempts + 1, token = 'x' || '.' || t.seq, wake_at = ${DB_NOW} + 30000
      FROM picked WHERE t.seq = picked.seq RETURNING t.seq`;
await sql.begin(async (tx) => {
  for (const r of await tx.unsafe(q)) console.log(r["QUERY PLAN"]);
  throw new Error("rollback");
}).catch(() => {});
await sql.unsafe("DROP SCHEMA probe2 CASCADE");
await sql.end();
