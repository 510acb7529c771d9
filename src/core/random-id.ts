/**
 * Random identifiers for jobs, leases and workers.
 *
 * `crypto.randomUUID` exists only in secure contexts (https, localhost); a page served over plain
 * http on a LAN still has `crypto.getRandomValues` and IndexedDB, so it falls back to a v4 UUID
 * built from those bytes. Both paths give 122 random bits in the same 8-4-4-4-12 form.
 */

const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A random (version 4) UUID, in secure and non-secure contexts alike. */
export function randomId(): string {
  const id = typeof crypto.randomUUID === "function" ? crypto.randomUUID() : uuidFromBytes(crypto.getRandomValues(new Uint8Array(16)));
  // Node (and the fallback below) build the id by concatenation: a tree of ~15 string pieces,
  // ~450 bytes that every stored job kept alive. toLowerCase() (a no-op on the text) returns it
  // flattened into one 36-character string; unlike a discarded read, the optimizer cannot drop it.
  return id.toLowerCase();
}

/** Formats 16 random bytes as a version 4, variant 1 UUID (exported for tests). */
export function uuidFromBytes(b: Uint8Array): string {
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let s = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += hex[b[i]!];
  }
  return s;
}
