/**
 * The servers the benchmark measures against, started for the run and stopped after it: a
 * throwaway PostgreSQL (scripts/pg-cluster.sh, default durability: fsync and synchronous_commit
 * on) and a Redis without persistence (Debian's redis-server, as BullMQ is usually run locally).
 * Each installs its Debian package when missing and we are root.
 */
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";

export interface Server {
  url: string;
  port: number;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function has(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A PostgreSQL cluster in a temporary directory on `port` (default: a free one). */
export async function startPostgres(port?: number): Promise<Server> {
  const out = execFileSync("bash", ["scripts/pg-cluster.sh", "start", ...(port ? [String(port)] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const field = (name: string) => out.match(new RegExp(`${name}=(\\S+)`))![1]!;
  const dir = field("dir");
  let stopped = false;
  return {
    url: field("url"),
    port: Number(field("port")),
    stop() {
      if (stopped) return;
      stopped = true;
      execFileSync("bash", ["scripts/pg-cluster.sh", "stop", dir], { stdio: "inherit" });
    },
  };
}

/** A Redis server on `port` (default: a free one), no snapshots, no append-only file. */
export async function startRedis(port?: number): Promise<Server> {
  if (!has("redis-server")) {
    if (process.getuid?.() !== 0 || !has("apt-get")) throw new Error("redis-server is required for the BullMQ baseline: sudo apt-get install -y redis-server");
    console.error("== installing redis-server (apt-get) for the BullMQ baseline");
    // Keep Debian from starting and enabling its own Redis on 6379; we only want the binary.
    // (a policy-rc.d that is already there stays as it was)
    const script = [
      "p=''; [ -e /usr/sbin/policy-rc.d ] || { p=/usr/sbin/policy-rc.d; printf '#!/bin/sh\\nexit 101\\n' >$p; chmod +x $p; }",
      "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; s=$?",
      '[ -n "$p" ] && rm -f $p; exit $s',
    ].join("\n");
    execFileSync("sh", ["-c", script], { stdio: "inherit" });
  }
  const chosen = port ?? (await freePort());
  const child = spawn("redis-server", ["--port", String(chosen), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${seen}`)));
    child.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes("Ready to accept connections")) resolve();
    });
  });
  child.removeAllListeners("exit");
  child.stdout!.resume();
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
    },
  };
}
