/**
 * portico-jobs on Deno: `serve()` hosts the webhook trigger with Deno.serve, runs the schedule
 * trigger and a WorkerManager, and stops gracefully on SIGINT/SIGTERM.
 * @module
 */
import { atomicFsDriver } from "../node/atomic-fs-driver.ts";
import { openSqliteDatabase } from "./sqlite.ts";
import { createHost, type RuntimeAdapter, type ServeHandle, type ServeOptions } from "../../src/host/create-host.ts";

export type { ServeHandle, ServeOptions, ServeWebhookOptions } from "../../src/host/create-host.ts";
export { openSqliteDatabase, type OpenSqliteOptions } from "./sqlite.ts";
export type { SqliteDatabase, SqliteStatement } from "../../src/drivers/sqlite/database.ts";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

const deno: RuntimeAdapter = {
  name: "deno",
  ownerLabel: `pid ${Deno.pid} (deno)`,
  // Deno.serve has no header or request timeouts to set: the webhook's body deadline applies.
  async listen(fetch, { hostname, port }) {
    let server!: Deno.HttpServer;
    // Aborting closes the server and every connection at once (shutdown() would wait for them).
    const abort = new AbortController();
    const bound = await new Promise<number>((resolve) => {
      server = Deno.serve({ hostname, port, handler: fetch, signal: abort.signal, onListen: (addr) => resolve(addr.port) });
    });
    return {
      port: bound,
      close: async () => {
        abort.abort();
        await server.finished;
      },
    };
  },
  openSqlite: (path) => openSqliteDatabase(path),
  storeDriver: (dir) => atomicFsDriver({ base: dir }),
  onShutdownSignal(handler) {
    const listeners = SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
    for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
    return () => {
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    };
  },
  exit: (code) => Deno.exit(code),
};

/**
 * Starts the job service on Deno (`deno run --allow-net --allow-read --allow-write --allow-env`).
 * @example
 * ```ts
 * const app = await serve({ handlers: [sendEmail], webhook: { auth: { bearerToken: Deno.env.get("TOKEN") } } });
 * console.log(`POST ${app.url}/webhooks/jobs`);
 * ```
 */
export function serve(options: ServeOptions): Promise<ServeHandle> {
  return createHost(options, deno);
}
