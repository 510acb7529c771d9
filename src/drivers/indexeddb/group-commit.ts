/**
 * Group commit of lease-bound calls (extend, complete, fail, release): calls that arrive while
 * the previous batch's transaction is in flight are applied together, in arrival order, in the
 * next single transaction. Readwrite transactions on one store run one at a time anyway, so a
 * worker finishing many jobs pays for one commit instead of one per job. Each call still either
 * takes effect fully or not at all: the batch function reports each call's own result.
 */

/** What one call of a batch came to: its boolean answer, or the error only it failed with. */
export type OpResult = OpAnswer | { error: unknown };
/** A call's answer: done or refused, or "cancelled" (a renewal of a lease whose job was cancelled). */
export type OpAnswer = boolean | "cancelled";

interface Pending<Op> {
  op: Op;
  resolve: (ok: OpAnswer) => void;
  reject: (error: unknown) => void;
}

/** Batches calls of type `Op` into runs of `apply`. */
export class GroupCommit<Op> {
  readonly #apply: (batch: Op[]) => Promise<OpResult[]>;
  readonly #toError: (error: unknown, op: Op) => unknown;
  readonly #queue: Pending<Op>[] = [];
  #flush: Promise<void> | null = null;

  /**
   * `apply` runs one batch in one transaction and answers each call in order (a rejection fails
   * the whole batch); `toError` turns a failure into what the call rejects with.
   */
  constructor(apply: (batch: Op[]) => Promise<OpResult[]>, toError: (error: unknown, op: Op) => unknown) {
    this.#apply = apply;
    this.#toError = toError;
  }

  /** Queues a call for the next batch. */
  submit(op: Op): Promise<OpAnswer> {
    return new Promise<OpAnswer>((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      this.#flush ??= this.#run();
    });
  }

  async #run(): Promise<void> {
    await Promise.resolve(); // calls made in the same tick join the first batch
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      const settled = await this.#apply(batch.map((p) => p.op)).then(
        (results) => results,
        (error: unknown) => batch.map((): OpResult => ({ error })),
      );
      batch.forEach((p, i) => {
        const r = settled[i]!;
        if (typeof r === "boolean" || r === "cancelled") p.resolve(r);
        else p.reject(this.#toError(r.error, p.op));
      });
    }
    this.#flush = null;
  }
}
