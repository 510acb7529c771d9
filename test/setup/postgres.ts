/**
 * Vitest global setup of the node project: `npm test` (scripts/test.sh) runs a throwaway
 * PostgreSQL and exports PORTICO_TEST_PG_URL. A hand run (`npx vitest run test/node/...`) without it
 * gets its own cluster here, so the PostgreSQL tests run rather than skip. Under CI=true nothing is
 * started: a missing variable there means the test script's wiring broke, and the tests must fail.
 */
import { execFileSync } from "node:child_process";

export default function setup(): (() => void) | undefined {
  if (process.env.PORTICO_TEST_PG_URL || process.env.CI === "true") return undefined;
  // The same settings as scripts/test.sh's cluster (no fsync: nothing here crashes the machine).
  const env = { ...process.env, PORTICO_PG_OPTS: "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" };
  const out = execFileSync("bash", ["scripts/pg-cluster.sh", "start"], { encoding: "utf8", env });
  const field = (name: string) => out.match(new RegExp(`${name}=(\\S+)`))?.[1] ?? "";
  const dir = field("dir");
  process.env.PORTICO_TEST_PG_URL = field("url");
  process.env.PORTICO_TEST_PG_DIR = dir;
  return () => {
    execFileSync("bash", ["scripts/pg-cluster.sh", "stop", dir]);
    delete process.env.PORTICO_TEST_PG_URL;
    delete process.env.PORTICO_TEST_PG_DIR;
  };
}
