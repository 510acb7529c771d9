// Bindings of the root wrangler.toml, as the workerd tests see them.
declare namespace Cloudflare {
  interface Env {
    JOB_QUEUE: DurableObjectNamespace<import("../../runtimes/cloudflare/durable-object.ts").JobQueueDurableObject>;
    WEBHOOK_TOKEN: string;
  }
}
