/** The driver conformance suite under Deno: PostgresJobQueue on the test run's PostgreSQL (PORTICO_TEST_PG_URL). */
import { runQueueConformance } from "../../src/testing/index.ts";
import { notifyWakesSubscriber, postgresConformance, testDatabaseUrl } from "../postgres/harness.ts";

const url = testDatabaseUrl((n) => Deno.env.get(n));
runQueueConformance({ name: "postgres on deno", test: (name, fn) => Deno.test({ name, fn }), ...postgresConformance(url) });
Deno.test("postgres on deno: a subscriber wakes on another connection's enqueue (LISTEN/NOTIFY)", () => notifyWakesSubscriber(url));
