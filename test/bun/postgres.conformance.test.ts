/** The driver conformance suite under Bun: PostgresJobQueue on the test run's PostgreSQL (PORTICO_TEST_PG_URL). */
import { expect, test } from "bun:test";
import { runQueueConformance } from "../../src/testing/index.ts";
import { notifyWakesSubscriber, postgresConformance, testDatabaseUrl } from "../postgres/harness.ts";

const url = testDatabaseUrl((n) => process.env[n]);
runQueueConformance({ name: "postgres on bun", test, expect, ...postgresConformance(url) });
test("postgres on bun: a subscriber wakes on another connection's enqueue (LISTEN/NOTIFY)", () => notifyWakesSubscriber(url));
