/**
 * The slice of the `cloudflare:workers` module the Durable Object shim uses, for type checkers
 * without @cloudflare/workers-types (Deno, `deno publish`): durable-object.ts points Deno at this
 * file with `@ts-types`. tsc (this repo, a Worker project) ignores that comment and uses the real types.
 */
import type { JobQueueObjectContext } from "../../src/drivers/durable-object/index.ts";

export declare abstract class DurableObject<Env = unknown> {
  protected ctx: JobQueueObjectContext;
  protected env: Env;
  constructor(ctx: JobQueueObjectContext, env: Env);
  alarm?(): void | Promise<void>;
}
