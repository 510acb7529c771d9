/**
 * Starts and stops the offline example's server (examples/browser-offline/server.ts) as a real
 * child process on a free port, for the Chromium end-to-end tests that drive its page.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A running example server: its base URL and its process. */
export interface RunningExampleServer {
  baseUrl: string;
  child: ChildProcess;
}

/** Spawns the server and resolves once it prints the URL it listens on. */
export async function startExampleServer(): Promise<RunningExampleServer> {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", "examples/browser-offline/server.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const m = /open (http:\/\/\S+?)\/? /.exec(output);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`the example server exited (${code}): ${output}`)));
  });
  return { baseUrl, child };
}

/** Stops the server with SIGTERM (its graceful stop) and waits for the process to exit. */
export async function stopExampleServer(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}
