/** The runtime hardening suite against portico-jobs/node (@hono/node-server) under vitest. */
import v8 from "node:v8";
import vm from "node:vm";
import { test } from "vitest";
import { serve } from "../../runtimes/node/index.ts";
import { defineHardeningSuite } from "../runtimes/hardening.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

defineHardeningSuite({
  name: "node",
  test,
  serve,
  gc,
  memory: () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  },
  childCommand: { command: process.execPath, args: ["--import", "tsx"] },
});
