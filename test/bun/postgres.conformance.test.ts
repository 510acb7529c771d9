/** The driver conformance suite under Bun: PostgresJobQueue on the test run's PostgreSQL (PORTICO_TEST_PG_URL). */
import { expect, test } from "bun:test";
import { runQueueConformance } from "../../src/testing/index.ts";
import { postgresConformance, testDatabaseUrl } from "../postgres/harness.ts";

runQueueConformance({ name: "postgres on bun", test, expect, ...postgresConformance(testDatabaseUrl((n) => process.env[n])) });
