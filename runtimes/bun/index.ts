/**
 * portico-jobs on Bun: `serve()` hosts the webhook trigger with Bun.serve, runs the schedule
 * trigger and a WorkerManager, and stops gracefully on SIGINT/SIGTERM.
 * @module
 */
import { atomicFsDriver } from "../node/atomic-fs-driver.ts";
import { openSqliteDatabase } from "./sqlite.ts";
import { createHost, processSignals, type RuntimeAdapter, type ServeHandle, type ServeOptions } from "../../src/host/create-host.ts";

export type { ServeHandle, ServeOptions, ServeWebhookOptions } from "../../src/host/create-host.ts";
export { openSqliteDatabase, type OpenSqliteOptions } from "./sqlite.ts";
export type { SqliteDatabase, SqliteStatement } from "../../src/drivers/sqlite/database.ts";

// The one Bun global the shim uses, declared in this module rather than ambiently, so tsc, Deno
// and JSR's checks need no Bun types. `process` comes from @types/node, which Bun implements.
declare const Bun: {
  serve(options: { hostname?: string; port?: number; idleTimeout?: number; fetch: (request: Request) => Response | Promise<Response> }): {
    readonly port: number;
    stop(closeActiveConnections?: boolean): Promise<void> | void;
  };
};

const bun: RuntimeAdapter = {
  name: "bun",
  ownerLabel: `pid ${process.pid} (bun)`,
  async listen(fetch, { hostname, port, headersTimeoutMs }) {
    // Bun has one timeout: a connection idle (no bytes either way) this long is closed, in whole
    // seconds from 1 to 255. The webhook's body deadline covers a body that trickles in.
    const idleTimeout = Math.min(255, Math.max(1, Math.ceil(headersTimeoutMs / 1000)));
    const server = Bun.serve({ hostname, port, idleTimeout, fetch: (request: Request) => fetch(request) });
    return {
      port: server.port,
      // true: also close connections still open, so a stop never waits on an idle keep-alive.
      close: async () => void (await server.stop(true)),
    };
  },
  openSqlite: (path) => openSqliteDatabase(path),
  storeDriver: (dir) => atomicFsDriver({ base: dir }),
  onShutdownSignal: processSignals(process),
  exit: (code) => process.exit(code),
};

/**
 * Starts the job service on Bun.
 * @example
 * ```ts
 * const app = await serve({ handlers: [sendEmail], webhook: { auth: { bearerToken: Bun.env.TOKEN } } });
 * console.log(`POST ${app.url}/webhooks/jobs`);
 * ```
 */
export function serve(options: ServeOptions): Promise<ServeHandle> {
  return createHost(options, bun);
}
