/**
 * Reading the JSON state a process finds at start-up (pairs, persistent reservations, CIM collections
 * and jobs). A missing file means "nothing saved yet"; a file that exists but cannot be read or parsed
 * stops start-up with an error naming it, because carrying on would silently forget what it held.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export class StateFileError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`state file ${file} is unreadable (${reason}); fix or remove it to start (removing it forgets what it held)`);
    this.name = 'StateFileError';
  }
}

/** The parsed file, or undefined when it does not exist. */
export async function readStateFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(file, (err as Error).message);
  }
  return parseStateText(file, text);
}

/** readStateFile for constructors that cannot wait. */
export function readStateFileSync(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(file, (err as Error).message);
  }
  return parseStateText(file, text);
}

function parseStateText(file: string, text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(file, (err as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new StateFileError(file, 'not a JSON object');
  return parsed;
}
