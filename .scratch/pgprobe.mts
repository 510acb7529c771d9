import postgres from "postgres";
import { JobService } from "/work/wt/sqlinfra/src/core/index.ts";
import { PostgresJobQueue } from "/work/wt/sqlinfra/src/drivers/postgres/index.ts";
const url = process.argv[2]!;
const queue = new PostgresJobQueue({ url }, { schema: "probe" });
const svc = new JobService({ queue });
for (let i = 0; i < 100_000; i += 1000) await svc.createJobs(Array.from({ length: 1000 }, (_, j) => ({ jobType: "noop", payload: { i: i + j } })));
const time = async (label: string) => {
  const t = performance.now();
  for (let k = 0; k < 20; k++) {
    const c = await queue.claim({ queues: ["default"], limit: 10, leaseMs: 30000, workerId: "w", now: Date.now() });
    for (const x of c) await queue.complete(x, null, Date.now());
  }
  console.log(label, ((performance.now() - t) / 20).toFixed(1), "ms per claim(10)+10 completes");
};
await time("before analyze");
const sql = postgres(url, { max: 1 });
console.log((await sql`select relname, last_autoanalyze, last_analyze, n_live_tup from pg_stat_user_tables where schemaname='probe'`));
await sql`ANALYZE probe.jobs`;
await time("after analyze");
await sql.end();
await queue.close();
