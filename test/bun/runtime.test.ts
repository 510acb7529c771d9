/** The runtime suite against portico-jobs/bun (Bun.serve) under `bun test`. */
import { test } from "bun:test";
import { openSqliteDatabase, serve } from "../../runtimes/bun/index.ts";
import { defineRuntimeSuite } from "../runtimes/suite.ts";

// bun:test's default 5 s timeout is too tight for waiting on a cron tick on a busy machine.
defineRuntimeSuite({ name: "bun", test: (name, fn) => test(name, fn, 30_000), serve, openSqlite: openSqliteDatabase });
