/** The SQLite opener of portico-jobs/bun: Bun's built-in bun:sqlite. */
import { test } from "bun:test";
import { openSqliteDatabase } from "../../runtimes/bun/index.ts";
import { defineSqliteOpenerSuite } from "../runtimes/sqlite-opener.ts";

defineSqliteOpenerSuite({ name: "bun", test, open: openSqliteDatabase });
