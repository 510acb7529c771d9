/**
 * portico-jobs/node's HTTP server details: Node's parser errors and its header timeout answer
 * the same JSON error body as every other error (Node's own answers have empty bodies).
 */
import { connect } from "node:net";
import { expect, test } from "vitest";
import { silentLogger, type JobHandler } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { serve } from "../../runtimes/node/index.ts";

const noop: JobHandler = { jobType: "x", handle: async () => ({ success: true }) };

/** Writes raw bytes and resolves with everything the server sends until it closes. */
function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (d) => (text += String(d)));
    socket.on("error", () => {});
    socket.on("close", () => resolve(text));
    socket.write(data);
  });
}

function parse(response: string) {
  const [head, body] = response.split("\r\n\r\n");
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1]), head: head!.toLowerCase(), json: JSON.parse(body!) };
}

test("malformed requests, oversized headers and a header timeout get JSON errors with stable codes", async () => {
  const queue = new MemoryJobQueue();
  const app = await serve({ handlers: [noop], queue, port: 0, handleSignals: false, logger: silentLogger, headersTimeoutMs: 300, webhook: { logger: silentLogger } });
  try {
    const port = Number(new URL(app.url).port);
    const garbage = parse(await raw(port, "NOT HTTP AT ALL\r\n\r\n"));
    expect(garbage).toMatchObject({ status: 400, json: { error: { code: "bad_request", message: expect.any(String) } } });
    expect(garbage.head).toContain("content-type: application/json");

    const huge = parse(await raw(port, `GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`));
    expect(huge).toMatchObject({ status: 431, json: { error: { code: "headers_too_large" } } });

    // Headers that never end: Node's headersTimeout (300 ms here), answered as JSON.
    const slow = parse(await raw(port, "POST /webhooks/jobs HTTP/1.1\r\nhost: x\r\n"));
    expect(slow).toMatchObject({ status: 408, json: { error: { code: "request_timeout" } } });

    // The server still serves.
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
  } finally {
    await app.stop();
    await queue.close();
  }
});
