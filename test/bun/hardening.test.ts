/** The runtime hardening suite against portico-jobs/bun (Bun.serve) under `bun test`. */
import { test } from "bun:test";
import { serve } from "../../runtimes/bun/index.ts";
import { defineHardeningSuite } from "../runtimes/hardening.ts";

defineHardeningSuite({
  name: "bun",
  test: (name, fn) => test(name, fn, 60_000),
  serve,
  gc: () => Bun.gc(true),
  memory: () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  },
  childCommand: { command: process.execPath, args: [] },
});
