// Types of scripts/entry-points.mjs for the tests that read the subpath map and the README.
export interface EntryPoint {
  /** The entry file, relative to the repo root (e.g. "src/drivers/memory.ts"). */
  source: string;
  /** The packages a user installs for this entry. */
  peers: string[];
}
export function loadEntryPoints(): [subpath: string, entry: EntryPoint][];
export function specifierOf(name: string, subpath: string): string;
export function readmePeers(): Map<string, string[]>;
export function readmeInstallLines(): Map<string, { command: string; packages: string[] }>;
