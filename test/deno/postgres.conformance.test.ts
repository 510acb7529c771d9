/** The driver conformance suite under Deno: PostgresJobQueue on the test run's PostgreSQL (PORTICO_TEST_PG_URL). */
import { runQueueConformance } from "../../src/testing/index.ts";
import { postgresConformance, testDatabaseUrl } from "../postgres/harness.ts";

runQueueConformance({
  name: "postgres on deno",
  test: (name, fn) => Deno.test({ name, fn }),
  ...postgresConformance(testDatabaseUrl((n) => Deno.env.get(n))),
});
