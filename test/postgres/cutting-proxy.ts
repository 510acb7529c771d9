/**
 * A TCP proxy in front of the test server that loses connections at exact points of the wire
 * protocol, so a test can drop a connection between its startup and its first statement (a moment
 * a server restart or a terminated backend hits only by chance). Node only (node:net).
 */
import { createServer, connect, type Socket } from "node:net";

export interface CuttingProxy {
  /** The test server's URL with the proxy's host and port. */
  readonly url: string;
  /**
   * The next connection, at the first message its client sends after the startup, is reset (TCP
   * RST, as a lost network does) or held (nothing forwarded: the connection waits as on a hung
   * server). Resolves when that happens.
   */
  afterStartup(action: "reset" | "hold"): Promise<void>;
  /** How many connections are open now. */
  readonly open: number;
  /** Closes every open connection now (as a server restart does to idle ones). */
  dropAll(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `url`'s host and port on a free loopback port. */
export async function startCuttingProxy(url: string): Promise<CuttingProxy> {
  const target = new URL(url);
  const pairs = new Set<[Socket, Socket]>();
  let armed: { action: "reset" | "hold"; done: () => void } | null = null;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    const cut = armed;
    armed = null;
    let holding = false;
    // The server's messages are type byte + int32 length; the first ReadyForQuery ('Z') ends the startup.
    let ready = false;
    let buffered = Buffer.alloc(0);
    upstream.on("data", (chunk: Buffer) => {
      if (!ready) {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 5) {
          const length = buffered.readInt32BE(1);
          if (buffered.length < 1 + length) break;
          if (buffered[0] === 0x5a) ready = true;
          buffered = buffered.subarray(1 + length);
        }
      }
      client.write(chunk);
    });
    client.on("data", (chunk: Buffer) => {
      if (holding) return;
      if (ready && cut) {
        if (cut.action === "reset") {
          pairs.delete(pair);
          upstream.destroy();
          client.resetAndDestroy();
        } else {
          holding = true;
        }
        cut.done();
        return;
      }
      upstream.write(chunk);
    });
  });
  const dropAll = () => {
    for (const [client, upstream] of [...pairs]) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(address.port);
  return {
    url: proxied.toString(),
    afterStartup(action) {
      return new Promise<void>((resolve) => (armed = { action, done: resolve }));
    },
    get open() {
      return pairs.size;
    },
    dropAll,
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
