/** The driver conformance suite against PostgresJobQueue on the test run's PostgreSQL, under Node. */
import { expect, test } from "vitest";
import { runQueueConformance } from "../../src/testing/index.ts";
import { postgresConformance, testDatabaseUrl } from "../postgres/harness.ts";

runQueueConformance({ name: "postgres", test, expect, ...postgresConformance(testDatabaseUrl((n) => process.env[n])) });
