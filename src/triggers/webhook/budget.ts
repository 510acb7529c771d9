/** A byte budget shared by every connection of one trigger: what unauthenticated requests may buffer. */

/** Bytes held by one request against a {@link ByteBudget}. */
export interface Reservation {
  /** Takes `n` more bytes; false (and nothing taken) when the budget cannot cover them. */
  take(n: number): boolean;
  /** Gives back everything this reservation took. Idempotent. */
  release(): void;
}

/** A counter of bytes in use, bounded by `limit`. */
export class ByteBudget {
  #used = 0;
  #peak = 0;
  constructor(readonly limit: number) {}

  /** Bytes held right now. */
  get used(): number {
    return this.#used;
  }

  /** The most bytes held at once since the trigger was created. */
  get peak(): number {
    return this.#peak;
  }

  /** A new, empty reservation. */
  reserve(): Reservation {
    let held = 0;
    return {
      take: (n) => {
        if (this.#used + n > this.limit) return false;
        this.#used += n;
        held += n;
        if (this.#used > this.#peak) this.#peak = this.#used;
        return true;
      },
      release: () => {
        this.#used -= held;
        held = 0;
      },
    };
  }
}
