/**
 * The slice of the `cloudflare:sockets` module postgres-socket.ts uses, for type checkers without
 * @cloudflare/workers-types (Deno, `deno publish`), as workers-module.d.ts is for `cloudflare:workers`.
 */
export declare function connect(
  address: { hostname: string; port: number },
  options?: { allowHalfOpen?: boolean },
): {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  closed: Promise<void>;
  close(): Promise<void>;
};
