/**
 * portico-jobs on Node: `serve()` hosts the webhook trigger (via @hono/node-server), runs the
 * schedule trigger and a WorkerManager, and stops gracefully on SIGINT/SIGTERM.
 * @module
 */
import type { AddressInfo } from "node:net";
import { serve as listen } from "@hono/node-server";
import { atomicFsDriver } from "./atomic-fs-driver.ts";
import { openSqliteDatabase } from "./sqlite.ts";
import { answerClientErrorsWithJson } from "./client-error.ts";
import { createHost, processSignals, type HttpServer, type RuntimeAdapter, type ServeHandle, type ServeOptions } from "../../src/host/create-host.ts";

export type { ServeHandle, ServeOptions, ServeWebhookOptions } from "../../src/host/create-host.ts";
export { openSqliteDatabase, sqliteEngineName, SqliteUnavailableError, type OpenSqliteOptions } from "./sqlite.ts";
export type { SqliteDatabase, SqliteStatement } from "../../src/drivers/sqlite/database.ts";

const node: RuntimeAdapter = {
  name: "node",
  ownerLabel: `pid ${process.pid} (node)`,
  listen: (fetch, { hostname, port, headersTimeoutMs, requestTimeoutMs }) =>
    new Promise<HttpServer>((resolve, reject) => {
      const serverOptions = {
        headersTimeout: headersTimeoutMs,
        requestTimeout: Math.max(requestTimeoutMs, headersTimeoutMs),
        // How often Node checks those two (default 30 s, which would triple a 10 s headers timeout).
        connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs),
      };
      const server = listen({ fetch, hostname, port, serverOptions }, (info: AddressInfo) =>
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              // Keep-alive connections would otherwise hold close() open.
              if ("closeAllConnections" in server) server.closeAllConnections();
            }),
        }),
      );
      answerClientErrorsWithJson(server as import("node:http").Server);
      server.once("error", reject);
    }),
  openSqlite: (path) => openSqliteDatabase(path),
  storeDriver: (dir) => atomicFsDriver({ base: dir }),
  onShutdownSignal: processSignals(process),
  exit: (code) => process.exit(code),
};

/**
 * Starts the job service on Node.
 * @example
 * ```ts
 * const app = await serve({ handlers: [sendEmail], webhook: { auth: { bearerToken: process.env.TOKEN } } });
 * console.log(`POST ${app.url}/webhooks/jobs`);
 * ```
 */
export function serve(options: ServeOptions): Promise<ServeHandle> {
  return createHost(options, node);
}
