/** The runtime hardening suite against portico-jobs/deno (Deno.serve) under `deno test`. */
import v8 from "node:v8";
import vm from "node:vm";
import { serve } from "../../runtimes/deno/index.ts";
import { defineHardeningSuite } from "../runtimes/hardening.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

defineHardeningSuite({
  name: "deno",
  // Raw sockets and a child process: their handles close in the tests' own cleanup.
  test: (name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false }),
  serve,
  gc,
  memory: () => {
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  },
  childCommand: { command: Deno.execPath(), args: ["run", "--allow-all", "--quiet"] },
});
