/** The runtime suite against portico-jobs/node (@hono/node-server) under vitest. */
import { test } from "vitest";
import { openSqliteDatabase, serve } from "../../runtimes/node/index.ts";
import { defineRuntimeSuite } from "../runtimes/suite.ts";

defineRuntimeSuite({ name: "node", test, serve, openSqlite: openSqliteDatabase });
