/**
 * Wake-up signals for workers of one IndexedDB queue: this page's listeners are called
 * directly; other tabs (and other handles in this page) hear a BroadcastChannel message; every
 * listener is also called when the browser comes back `online`. Each global is optional, so
 * the driver still works (by polling) where one is missing.
 * @module
 */

/** Fans out "jobs may be claimable" to local listeners, other tabs and the `online` event. */
export class WakeSignal {
  readonly #channelName: string;
  readonly #listeners = new Set<() => void>();
  #channel: BroadcastChannel | null = null;
  #onlineTarget: EventTarget | null = null;
  readonly #fire = (): void => {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // A listener's failure must not keep the others from waking.
      }
    }
  };

  constructor(channelName: string) {
    this.#channelName = channelName;
  }

  /** Adds a listener; the first one opens the channel and listens for `online`. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#attach();
    return () => {
      if (this.#listeners.delete(listener) && this.#listeners.size === 0) this.#detach();
    };
  }

  /** Tells every listener, here and in other tabs, that jobs may be claimable. */
  notify(): void {
    this.#fire();
    this.#broadcaster()?.postMessage("wake");
  }

  close(): void {
    this.#listeners.clear();
    this.#detach();
    this.#sender?.close();
    this.#sender = null;
  }

  // Posting needs a channel even with no local listener (other tabs may be listening).
  #sender: BroadcastChannel | null = null;
  #broadcaster(): BroadcastChannel | null {
    if (this.#channel) return this.#channel;
    if (!this.#sender && typeof BroadcastChannel === "function") this.#sender = new BroadcastChannel(this.#channelName);
    return this.#sender;
  }

  #attach(): void {
    if (typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(this.#channelName);
      this.#channel.onmessage = this.#fire;
      // A channel opened only to send is no longer needed.
      this.#sender?.close();
      this.#sender = null;
    }
    const target = typeof window === "object" && window !== null && typeof window.addEventListener === "function" ? window : null;
    if (target) {
      target.addEventListener("online", this.#fire);
      this.#onlineTarget = target;
    }
  }

  #detach(): void {
    this.#channel?.close();
    this.#channel = null;
    this.#onlineTarget?.removeEventListener("online", this.#fire);
    this.#onlineTarget = null;
  }
}
