/**
 * Creating folders one level at a time. `mkdir(path, {recursive: true})` in Node 20 loops forever
 * when a parent exists but refuses new entries with ENOENT (`/proc/uxstate` hung `serve` with no
 * output); here each missing level is one mkdir, so every outcome is an error or done, in bounded time.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** The folders from `path` up to its first existing ancestor that are missing, outermost first. */
export async function missingFolders(path: string): Promise<string[]> {
  const missing: string[] = [];
  for (let current = resolve(path); ; current = dirname(current)) {
    try {
      const found = await stat(current);
      if (!found.isDirectory()) throw new Error(`${current} exists and is not a folder`);
      return missing;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.unshift(current);
      if (dirname(current) === current) return missing;
    }
  }
}

/** Creates `path` and its missing parents; a level that cannot be created is an error naming it. */
export async function ensureFolder(path: string): Promise<void> {
  for (const folder of await missingFolders(path)) {
    try {
      await mkdir(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(folder)).isDirectory()) continue;
      const why = code === 'ENOENT' ? `${dirname(folder)} exists but does not accept new folders` : (error as Error).message;
      throw new Error(`cannot create folder ${folder}: ${why}`, { cause: error });
    }
  }
}
