/**
 * PostgreSQL under chaos, with real processes: 3 workers x concurrency 8
 * drain 10,000 jobs whose handlers throw at random while one worker is SIGKILLed and restarted
 * twice (none lost, duplicates only from the killed process's jobs in flight), and a run across a
 * restart of a PostgreSQL server of the test's own (none lost).
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterEach, expect, test } from "vitest";
import { chaosFailures, runChaos } from "../chaos/harness.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function testDatabase(): { url: string; dir: string } {
  const url = process.env.PORTICO_TEST_PG_URL;
  const dir = process.env.PORTICO_TEST_PG_DIR;
  if (!url || !dir) throw new Error("PORTICO_TEST_PG_URL and PORTICO_TEST_PG_DIR must be set: run the tests with `npm test` (scripts/test.sh starts the cluster)");
  return { url, dir };
}

async function setup(name: string, database: { url: string; dir: string } = testDatabase()) {
  const { url, dir: clusterDir } = database;
  const dir = await mkdtemp(join(tmpdir(), `portico-chaos-${name}-`));
  await mkdir(join(dir, "logs"));
  const schema = `chaos_${name}_${process.pid}`;
  cleanups.push(async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
    await rm(dir, { recursive: true, force: true });
  });
  return { store: { kind: "postgres" as const, url, schema }, logDir: join(dir, "logs"), clusterDir };
}

const options = { jobs: 10_000, processes: 3, concurrency: 8 };

test("postgres chaos: 3 processes x 8, 10,000 jobs, random throws, one process SIGKILLed and restarted twice", async () => {
  const { store, logDir } = await setup("kill");
  const report = await runChaos({ ...options, store, logDir, leaseMs: 4_000, throwRate: 0.15, killAt: [2_500, 6_000] });
  expect(report.killed).toHaveLength(2);
  expect(chaosFailures(report, options)).toEqual([]);
  expect(report.byStatus.completed).toBe(options.jobs);
  expect(report.starts).toBeGreaterThan(options.jobs * 1.1);
}, 180_000);

/**
 * A cluster of this test's own: restarting the test run's shared server would cut the connections
 * of every other PostgreSQL test running at the same time (vitest runs files in parallel, and
 * Deno's and Bun's suites may share the server too).
 */
function ownCluster(): { url: string; dir: string } {
  const out = execFileSync("bash", ["scripts/pg-cluster.sh", "start"], {
    encoding: "utf8",
    env: { ...process.env, PORTICO_PG_OPTS: "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" },
  });
  const dir = /dir=(\S+)/.exec(out)?.[1];
  const url = /url=(\S+)/.exec(out)?.[1];
  if (!dir || !url) throw new Error(`scripts/pg-cluster.sh start printed no dir/url: ${out}`);
  cleanups.unshift(async () => execFileSync("bash", ["scripts/pg-cluster.sh", "stop", dir], { stdio: "inherit" }));
  return { url, dir };
}

test("postgres chaos: the PostgreSQL server restarts mid-run; no job is lost", async () => {
  const cluster = ownCluster();
  const { store, logDir, clusterDir } = await setup("restart", cluster);
  const startedAt = async () => {
    const sql = postgres(store.url, { max: 1, onnotice: () => {} });
    const [row] = await sql<{ at: Date }[]>`select pg_postmaster_start_time() as at`;
    await sql.end();
    return row!.at.getTime();
  };
  const before = await startedAt();
  let restarted = false;
  const report = await runChaos({
    ...options,
    store,
    logDir,
    leaseMs: 4_000,
    throwRate: 0.15,
    killAt: [],
    actions: [
      {
        at: 4_000,
        run: async () => {
          execFileSync("bash", ["scripts/pg-cluster.sh", "restart", clusterDir], { stdio: "inherit" });
          restarted = true;
        },
      },
    ],
  });
  expect(restarted).toBe(true);
  expect(await startedAt()).toBeGreaterThan(before); // the server really went down and came back
  // Jobs whose completion was in flight when the server went away may run again (at least once):
  // duplicates are allowed here, loss is not.
  expect(chaosFailures(report, { ...options, allowAnyDuplicates: true })).toEqual([]);
  expect(report.byStatus.completed).toBe(options.jobs);
}, 180_000);
