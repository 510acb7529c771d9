/** What both sides of the service-worker bench send: one item, as the sink records it. */
export interface BenchItem {
  id: string;
  /** Creation order within the scenario. */
  seq: number;
  side: "portico" | "workbox";
  urgent?: boolean;
}

/** The portico side's queue, shared by its page and its service worker. */
export const PORTICO_DB = "bench-sw-portico";
/** The Workbox side's queue name (its sync tag is `workbox-background-sync:<name>`). */
export const WORKBOX_QUEUE = "bench-sw-workbox";
