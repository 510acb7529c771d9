/**
 * unstorage's fs driver, with writes made atomic: each value goes to a temporary file that is then
 * renamed over the key's file. The plain driver truncates the file before writing it, so a process
 * killed between the two leaves an empty job record, which the next start cannot read. Used as
 * the default store by the Node, Deno and Bun shims (all three have node:fs).
 * @module
 */
import { promises as fsp } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { defineDriver } from "unstorage";
import fsDriver from "unstorage/drivers/fs";

/** Options of {@link atomicFsDriver}: the directory holding the keys. */
export interface AtomicFsDriverOptions {
  base: string;
}

/** Temporary files live here, inside the store (so a rename never crosses file systems) but outside every key. */
export const TMP_DIR = ".tmp";

export const atomicFsDriver = defineDriver((options: AtomicFsDriverOptions) => {
  const inner = fsDriver({ base: options.base, ignore: ["**/node_modules/**", "**/.git/**", `**/${TMP_DIR}/**`] });
  const base = resolve(options.base);
  const tmpDir = join(base, TMP_DIR);
  const session = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  let seq = 0;
  const swept = sweepLeftovers(tmpDir, session, Date.now());
  const pathOf = (key: string): string => {
    // The same key-to-path rule as the fs driver, which also refuses ".." segments.
    if (/\.\.:|\.\.$/.test(key)) throw new Error(`[unstorage] [atomic-fs] Invalid key: ${JSON.stringify(key)}. It should not contain .. segments`);
    return join(base, key.replace(/:/g, "/"));
  };
  const write = async (key: string, data: string | Uint8Array): Promise<void> => {
    const target = pathOf(key);
    const tmp = join(tmpDir, `${session}-${seq++}`);
    await swept;
    await fsp.mkdir(tmpDir, { recursive: true });
    await fsp.mkdir(dirname(target), { recursive: true });
    try {
      await fsp.writeFile(tmp, data);
      await fsp.rename(tmp, target);
    } catch (error) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw error;
    }
  };
  return {
    ...inner,
    name: "portico-atomic-fs",
    options,
    setItem: (key: string, value: string) => write(key, value),
    setItemRaw: (key: string, value: unknown) => write(key, value as Uint8Array),
  };
});

/**
 * Removes the temporary files a killed writer left behind (written, never renamed over a key).
 * Only files older than this driver are removed, never this driver's own: another process's
 * write in flight is younger than that, and the store's owner lock keeps a second owner out.
 * Best effort: a file that cannot be removed only takes space.
 */
async function sweepLeftovers(tmpDir: string, session: string, openedAt: number): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(tmpDir);
  } catch {
    return;
  }
  await Promise.all(
    names
      .filter((name) => !name.startsWith(`${session}-`))
      .map(async (name) => {
        const path = join(tmpDir, name);
        try {
          if ((await fsp.stat(path)).mtimeMs < openedAt) await fsp.rm(path, { force: true });
        } catch {
          // Removed meanwhile or not ours to remove: leave it.
        }
      }),
  );
}
