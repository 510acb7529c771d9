/** The runtime suite against portico-jobs/deno (Deno.serve) under `deno test`. */
import { openSqliteDatabase, serve } from "../../runtimes/deno/index.ts";
import { defineRuntimeSuite } from "../runtimes/suite.ts";

defineRuntimeSuite({ name: "deno", test: (name, fn) => Deno.test(name, fn), serve, openSqlite: openSqliteDatabase });
