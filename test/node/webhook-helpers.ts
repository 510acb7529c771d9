/** Test helpers for the webhook trigger: a real @hono/node-server on 127.0.0.1:0 and raw HTTP requests. */
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { JobService, silentLogger, type JobServiceOptions } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { createWebhookTrigger, type WebhookTriggerOptions } from "../../src/triggers/webhook/index.ts";

export const TOKEN = "s3cret-token_1";
/** 32 key bytes, base64. */
export const SECRET_NEW = `whsec_${Buffer.from("new-secret-key-bytes-0123456789!").toString("base64")}`;
export const SECRET_OLD = `whsec_${Buffer.from("old-secret-key-bytes-0123456789!").toString("base64")}`;

export interface Server {
  url: string;
  jobs: string;
  service: JobService;
  queue: MemoryJobQueue;
  trigger: ReturnType<typeof createWebhookTrigger>;
  /** Jobs in the store. */
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Starts a real HTTP server hosting a started trigger over a real JobService + MemoryJobQueue. */
export async function startServer(
  options: Partial<WebhookTriggerOptions> = {},
  service?: Partial<JobServiceOptions>,
): Promise<Server> {
  const queue = new MemoryJobQueue();
  const jobService = new JobService({ queue, ...service });
  const trigger = createWebhookTrigger({ jobCreator: jobService, logger: silentLogger, ...options });
  await trigger.start();
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: trigger.app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jobs: `${url}${options.prefix ?? "/webhooks"}/jobs`,
    service: jobService,
    queue,
    trigger,
    count: async () => (await queue.stats()).total,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        if ("closeAllConnections" in server) server.closeAllConnections();
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

/**
 * POSTs with node:http, writing the body in chunks without Content-Length
 * (Transfer-Encoding: chunked). The server may answer before the body is fully sent.
 */
export function postChunked(url: string, headers: Record<string, string>, chunks: Uint8Array[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { ...headers, "transfer-encoding": "chunked" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, json: text ? JSON.parse(text) : null }));
    });
    // The server may close the connection once it has refused the body; the answer still arrives first.
    req.on("error", (err) => reject(err));
    let i = 0;
    const writeNext = () => {
      if (i >= chunks.length) return void req.end();
      const ok = req.write(chunks[i++]);
      if (ok) setImmediate(writeNext);
      else req.once("drain", writeNext);
    };
    writeNext();
  });
}
