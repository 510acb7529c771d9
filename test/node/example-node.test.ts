/**
 * `npm start` (examples/node/main.ts) as a real process: with DATABASE_URL it keeps its jobs in
 * that PostgreSQL database and says so; without, in ./.portico/jobs.sqlite under its working
 * directory. Either way its demo jobs run, and SIGINT stops it with exit code 0.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import postgres from "postgres";
import { afterEach, expect, test } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Runs the example in `cwd` until a job completed, then SIGINTs it; its stdout lines and exit code. */
async function runExample(cwd: string, env: Record<string, string>): Promise<{ lines: string[]; code: number | null }> {
  // tsx by path: the working directory is elsewhere, so a bare "tsx" would not resolve.
  const tsx = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;
  const proc = spawn(process.execPath, ["--import", tsx, join(ROOT, "examples/node/main.ts")], {
    cwd,
    env: { ...process.env, PORT: "0", TSX_TSCONFIG_PATH: join(ROOT, "tsconfig.json"), ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await exited;
  });
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      lines.push(line);
      if (/\bcompleted\b.*email\.send|email\.send.*\bcompleted\b/.test(line)) resolve();
    });
    void exited.then((code) => reject(new Error(`the example exited (${code}) before a job completed:\n${lines.join("\n")}`)));
  });
  proc.kill("SIGINT");
  return { lines, code: await exited };
}

test("npm start with DATABASE_URL stores its jobs in that PostgreSQL database and says so", async () => {
  const base = process.env.PORTICO_TEST_PG_URL;
  expect(base, "PORTICO_TEST_PG_URL must be set (npm test starts a cluster)").toBeTruthy();
  const admin = postgres(base!, { max: 1, onnotice: () => {} });
  const name = `example_${process.pid}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  cleanups.push(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });
  const url = new URL(base!);
  url.pathname = `/${name}`;
  const cwd = await mkdtemp(join(tmpdir(), "portico-example-"));
  cleanups.push(() => rm(cwd, { recursive: true, force: true }));

  const { lines, code } = await runExample(cwd, { DATABASE_URL: url.toString() });
  expect(code).toBe(0);
  expect(lines.some((l) => /jobs stored in PostgreSQL at .*\(DATABASE_URL\)/.test(l))).toBe(true);
  const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    const rows = await db<{ job_type: string }[]>`SELECT job_type FROM portico.jobs ORDER BY job_type`;
    expect(rows.map((r) => r.job_type)).toEqual(expect.arrayContaining(["email.send", "report.build", "report.build"]));
  } finally {
    await db.end();
  }
  expect(existsSync(join(cwd, ".portico"))).toBe(false); // nothing written to the SQLite default
});

test("npm start without DATABASE_URL stores its jobs in ./.portico/jobs.sqlite", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "portico-example-"));
  cleanups.push(() => rm(cwd, { recursive: true, force: true }));
  const { lines, code } = await runExample(cwd, { DATABASE_URL: "" });
  expect(code).toBe(0);
  expect(lines.some((l) => l.includes("jobs stored in ./.portico/jobs.sqlite"))).toBe(true);
  expect(existsSync(join(cwd, ".portico", "jobs.sqlite"))).toBe(true);
});
