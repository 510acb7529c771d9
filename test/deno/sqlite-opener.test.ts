/** The SQLite opener of portico-jobs/deno: Deno's built-in node:sqlite. */
import { openSqliteDatabase } from "../../runtimes/deno/index.ts";
import { defineSqliteOpenerSuite } from "../runtimes/sqlite-opener.ts";

defineSqliteOpenerSuite({ name: "deno", test: (name, fn) => Deno.test(name, fn), open: openSqliteDatabase });
