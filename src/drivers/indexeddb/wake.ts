/**
 * Wake-up signals for workers of one IndexedDB queue: this page's listeners are called
 * directly; other tabs (and other handles in this page) hear a BroadcastChannel message; every
 * listener is also called when the browser comes back `online`. Each global is optional, so
 * the driver still works (by polling) where one is missing.
 * @module
 */

/**
 * Smallest gap between two BroadcastChannel posts. Each post is an IPC through the browser
 * process, which costs about as much as a small IndexedDB transaction; back-to-back enqueues
 * share one post (the trailing post covers every enqueue before it), delaying other tabs by at
 * most this much.
 */
const BROADCAST_GAP_MS = 10;

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
    if (this.#trailing !== null) return; // a post is already due and will cover this one
    const wait = this.#lastPost + BROADCAST_GAP_MS - Date.now();
    if (wait <= 0) this.#post();
    else this.#trailing = setTimeout(() => this.#post(), wait);
  }

  #lastPost = -Infinity;
  #trailing: ReturnType<typeof setTimeout> | null = null;
  #post(): void {
    if (this.#trailing !== null) clearTimeout(this.#trailing);
    this.#trailing = null;
    this.#lastPost = Date.now();
    this.#broadcaster()?.postMessage("wake");
  }

  close(): void {
    if (this.#trailing !== null) this.#post(); // do not swallow the last enqueue's wake-up
    this.#listeners.clear();
    this.#detach();
    this.#sender?.close();
    this.#sender = null;
  }

  // Posting needs a channel even with no local listener (other tabs may be listening).
  #sender: BroadcastChannel | null = null;
  #broadcaster(): BroadcastChannel | null {
    if (this.#channel) return this.#channel;
    if (!this.#sender && typeof BroadcastChannel === "function") this.#sender = unref(new BroadcastChannel(this.#channelName));
    return this.#sender;
  }

  #attach(): void {
    if (typeof BroadcastChannel === "function") {
      this.#channel = unref(new BroadcastChannel(this.#channelName));
      this.#channel.onmessage = this.#fire;
      // A channel opened only to send is no longer needed.
      this.#sender?.close();
      this.#sender = null;
    }
    // Read off globalThis: a service worker has no `window` (nor its type, under the WebWorker lib).
    const target = (globalThis as { window?: EventTarget | null }).window;
    if (target && typeof target.addEventListener === "function") {
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

/** Outside browsers (Node with an IndexedDB polyfill) an open channel would keep the process alive. */
function unref(channel: BroadcastChannel): BroadcastChannel {
  (channel as { unref?: () => void }).unref?.();
  return channel;
}

/** A job's change as it travels between tabs. */
export interface ChangeMessage {
  jobId: string;
  status: string;
}

/**
 * Job changes (finishes, cancels, progress) for watch(): this handle's listeners are called
 * directly, other tabs' through a BroadcastChannel. Changes made in one task share one post.
 */
export class ChangeFeed<C extends ChangeMessage> {
  readonly #channelName: string;
  readonly #listeners = new Set<(change: C) => void>();
  #channel: BroadcastChannel | null = null;
  #sender: BroadcastChannel | null = null;
  #pending: C[] = [];

  constructor(channelName: string) {
    this.#channelName = channelName;
  }

  subscribe(listener: (change: C) => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1 && typeof BroadcastChannel === "function") {
      this.#channel = unref(new BroadcastChannel(this.#channelName));
      this.#channel.onmessage = (event: MessageEvent) => {
        if (Array.isArray(event.data)) for (const c of event.data as C[]) this.#fire(c);
      };
    }
    return () => {
      if (this.#listeners.delete(listener) && this.#listeners.size === 0) {
        this.#channel?.close();
        this.#channel = null;
      }
    };
  }

  /** Tells listeners here at once and other tabs in the next microtask. */
  publish(change: C): void {
    this.#fire(change);
    if (typeof BroadcastChannel !== "function") return;
    this.#pending.push(change);
    if (this.#pending.length === 1) queueMicrotask(() => this.#flush());
  }

  close(): void {
    this.#flush();
    this.#listeners.clear();
    this.#channel?.close();
    this.#channel = null;
    this.#sender?.close();
    this.#sender = null;
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    // A BroadcastChannel does not deliver to itself, so a listening channel can also send.
    const channel = this.#channel ?? (this.#sender ??= unref(new BroadcastChannel(this.#channelName)));
    try {
      channel.postMessage(batch);
    } catch {
      // closed meanwhile: other tabs poll as a fallback
    }
  }

  #fire(change: C): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // One listener's failure must not keep the others from hearing.
      }
    }
  }
}
