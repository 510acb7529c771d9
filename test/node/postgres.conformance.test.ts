/** The driver conformance suite against PostgresJobQueue on the test run's PostgreSQL, under Node. */
import { expect, test } from "vitest";
import { runQueueConformance } from "../../src/testing/index.ts";
import { notifyWakesSubscriber, postgresConformance, testDatabaseUrl } from "../postgres/harness.ts";

const url = testDatabaseUrl((n) => process.env[n]);
runQueueConformance({ name: "postgres", test, expect, ...postgresConformance(url) });
test("postgres: a subscriber wakes on another connection's enqueue (LISTEN/NOTIFY)", () => notifyWakesSubscriber(url));
