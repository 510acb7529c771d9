/**
 * A TCP socket for the `postgres` client inside a Worker, passed as its `socket` option:
 * `postgres(env.HYPERDRIVE.connectionString, { socket: postgresSocket })`.
 *
 * Why not the client's own Workers socket: in `postgres` 3.4.9 every `sql.end()` leaves an
 * unhandled rejection, "Stream was cancelled" (porsager/postgres#1202), which fails a vitest run
 * (and, per that issue, is logged once per request when deployed). Its socket closes under a pending read, and in
 * workerd a read cancelled that way is reported as unhandled whatever catches it. This one
 * half-closes instead: it sends the client's Terminate, closes its writing side, and lets the
 * server close the connection, so the read ends as done. It speaks plain TCP, which is what the
 * hop to Hyperdrive is (Hyperdrive does TLS to the database itself). Its modules load on first use
 * (the client awaits the socket), so importing portico-jobs/cloudflare needs neither them nor
 * `nodejs_compat` (the client does).
 */
/** The part of the client's options the socket reads (the client passes all of them). */
export interface PostgresSocketOptions {
  host: readonly string[];
  port: readonly number[];
  ssl?: unknown;
}

/** The socket-like duplex the `postgres` client drives: events "data", "error", "close" (an EventEmitter). */
export interface PostgresSocket {
  readyState: "open" | "closed";
  write(data: Uint8Array, callback?: () => void): boolean;
  end(data?: Uint8Array): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  on(event: string, listener: (...args: never[]) => void): this;
  once(event: string, listener: (...args: never[]) => void): this;
  removeListener(event: string, listener: (...args: never[]) => void): this;
  removeAllListeners(event?: string): this;
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
}

/** The slice of `cloudflare:sockets` used here. */
type Connect = (
  address: { hostname: string; port: number },
  options?: { allowHalfOpen?: boolean },
) => { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array>; closed: Promise<void>; close(): Promise<void> };

/** Opens a connection to the client's first host and port over `cloudflare:sockets`. */
export async function postgresSocket(options: PostgresSocketOptions): Promise<PostgresSocket> {
  if (options.ssl) {
    // The client would negotiate TLS on this socket with its own polyfill, which needs its own socket.
    throw new Error("postgresSocket speaks plain TCP (the hop to Hyperdrive); pass ssl: false, or leave out the socket option for a direct TLS connection");
  }
  const host = options.host[0];
  const port = options.port[0];
  if (!host || !port) throw new Error("postgresSocket: the client gave no host and port");
  const [{ connect }, { Buffer }, { EventEmitter }] = (await Promise.all([
    // Specifiers typed as plain strings: type checkers then ask for no module types (a Worker
    // project may have no @types/node), while bundlers still see the literal.
    import("cloudflare:sockets" as string),
    import("node:buffer" as string),
    import("node:events" as string),
  ])) as [{ connect: Connect }, { Buffer: { from(bytes: Uint8Array): Uint8Array } }, { EventEmitter: new () => object }];
  const raw = connect({ hostname: host, port }, { allowHalfOpen: false });
  const writer = raw.writable.getWriter();
  const reader = raw.readable.getReader();
  // A failed connection rejects these too; the read loop and `closed` report it once.
  reader.closed.catch(() => {});
  writer.closed.catch(() => {});
  /** end() or destroy() was called: what fails from now on is the close we asked for. */
  let closing = false;
  const socket = Object.assign(new EventEmitter(), {
    readyState: "open" as "open" | "closed",
    write(data: Uint8Array, callback?: () => void): boolean {
      writer.write(data).then(() => callback?.(), fail);
      return true;
    },
    end(data?: Uint8Array): void {
      closing = true;
      // A half-close: the server answers the client's Terminate and our end of input by closing
      // its side, so the pending read ends as done. (Closing the socket under a pending read
      // cancels it, and workerd reports that as an unhandled rejection whatever we catch.)
      const last = data ? writer.write(data) : Promise.resolve();
      last.then(() => writer.close()).catch(() => raw.close().catch(() => {}));
    },
    destroy(): void {
      // Only on the client's error paths (connect timeout, protocol error): close at once.
      closing = true;
      raw.close().catch(() => {});
      close();
    },
    // Reads are pulled one chunk at a time; a paused client simply handles its chunks later.
    pause(): void {},
    resume(): void {},
  }) as unknown as PostgresSocket;

  function close(): void {
    if (socket.readyState === "closed") return;
    socket.readyState = "closed";
    socket.emit("close");
  }

  function fail(error: unknown): void {
    // Closing cancels the pending read: that is the close itself, not an error. And once the
    // client has let go (after "close") nobody listens, and nothing is left to tell.
    if (!closing && socket.readyState !== "closed" && socket.listenerCount("error") > 0) socket.emit("error", error);
    close();
  }

  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        socket.emit("data", Buffer.from(value));
      }
      // Nothing is pending now, so closing cancels nothing.
      raw.close().catch(() => {});
      close();
    } catch (error) {
      fail(error);
    }
  })();
  raw.closed.then(close, fail);
  return socket;
}
