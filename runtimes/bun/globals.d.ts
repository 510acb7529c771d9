/**
 * The one Bun global the shim uses, for type checks with tsc (Bun never loads this file:
 * nothing imports it). `process` comes from @types/node, which Bun implements.
 */
declare namespace Bun {
  interface Server {
    readonly port: number;
    stop(closeActiveConnections?: boolean): Promise<void> | void;
  }
  function serve(options: { hostname?: string; port?: number; fetch: (request: Request) => Response | Promise<Response> }): Server;
}

/** The part of bun:sqlite the SQLite opener uses. */
declare module "bun:sqlite" {
  export class Database {
    constructor(path: string);
    exec(sql: string): void;
    prepare(sql: string): {
      run(...params: unknown[]): { changes: number | bigint };
      all(...params: unknown[]): unknown[];
      get(...params: unknown[]): unknown;
    };
    close(): void;
  }
}
