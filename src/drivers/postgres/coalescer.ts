/**
 * Coalesces concurrent calls into batches: while one batch is in flight, later calls wait and go
 * out together as the next one. An idle caller's call leaves at once (no added latency); under
 * load, N concurrent completions cost one statement and one commit instead of N.
 */
export class Coalescer<T, R> {
  readonly #run: (items: T[]) => Promise<R[]>;
  readonly #max: number;
  #waiting: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #busy = false;

  /** `run` gets a batch and returns one result per item, in order. */
  constructor(run: (items: T[]) => Promise<R[]>, max = 500) {
    this.#run = run;
    this.#max = max;
  }

  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (!this.#busy) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#max);
      try {
        const results = await this.#run(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i]!));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.#busy = false;
  }
}
