/**
 * The driver conformance suite against PostgresJobQueue inside workerd: the `postgres` client's
 * Workers build on postgresSocket, through the Hyperdrive binding to the test run's PostgreSQL,
 * with `listen: false` as a Worker runs it (docs/postgres.md, "From a Cloudflare Worker").
 */
import { env } from "cloudflare:test";
import { expect, test } from "vitest";
import { postgresSocket } from "../../runtimes/cloudflare/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";
import { postgresConformance } from "../postgres/harness.ts";

if (!env.HYPERDRIVE) throw new Error("PORTICO_TEST_PG_URL is not set: `npm test` starts a PostgreSQL and exports it (scripts/test.sh)");
runQueueConformance({
  name: "postgres (workerd, Hyperdrive)",
  test,
  expect,
  ...postgresConformance(env.HYPERDRIVE.connectionString, { listen: false }, { socket: postgresSocket }),
});
