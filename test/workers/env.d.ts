// Bindings of the root wrangler.toml, as the workerd tests see them.
declare namespace Cloudflare {
  interface Env {
    JOB_QUEUE: DurableObjectNamespace<import("../../runtimes/cloudflare/durable-object.ts").JobQueueDurableObject>;
    WEBHOOK_TOKEN: string;
    /** The test run's PostgreSQL (test/workers/vitest.config.ts); absent when PORTICO_TEST_PG_URL is not set. */
    HYPERDRIVE?: Hyperdrive;
    /** The Node-side PostgresJobQueue of postgres.test.ts (test/postgres/workerd-peer.ts). */
    NODE_PEER: Fetcher;
  }
}
