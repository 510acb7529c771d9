// The test run's PostgreSQL is there and usable: every PostgreSQL test depends on it, so a broken
// wiring fails here with a clear message (never a skip).
import postgres from "postgres";
import { expect, test } from "vitest";

test("PORTICO_TEST_PG_URL points at a live PostgreSQL on loopback", async () => {
  const url = process.env.PORTICO_TEST_PG_URL;
  expect(url, "PORTICO_TEST_PG_URL is not set: run the tests with `npm test` (scripts/test.sh starts a cluster)").toBeTruthy();
  expect(new URL(url!).hostname).toBe("127.0.0.1");
  const sql = postgres(url!, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ version: number; sum: number }[]>`
      select current_setting('server_version_num')::int as version, ${2}::int + ${3}::int as sum`;
    expect(row!.sum).toBe(5);
    expect(row!.version).toBeGreaterThanOrEqual(150000);
    // A scratch table round-trip: the cluster accepts writes.
    await sql`create temp table portico_env_check (n int)`;
    await sql`insert into portico_env_check values (7)`;
    expect(await sql`select n from portico_env_check`).toEqual([{ n: 7 }]);
  } finally {
    await sql.end();
  }
});
