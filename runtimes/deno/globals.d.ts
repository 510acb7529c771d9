/**
 * The few Deno globals the shim uses, for type checks with tsc (Deno itself never loads this
 * file: nothing imports it, and Deno brings its own lib).
 */
declare namespace Deno {
  const pid: number;
  interface HttpServer {
    shutdown(): Promise<void>;
    readonly finished: Promise<void>;
  }
  function serve(options: {
    hostname?: string;
    port?: number;
    signal?: AbortSignal;
    handler: (request: Request) => Response | Promise<Response>;
    onListen?: (addr: { hostname: string; port: number }) => void;
  }): HttpServer;
  function addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  function removeSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  function exit(code?: number): never;
}
