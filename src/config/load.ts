/** Reads a system config file (YAML, or JSON, which YAML 1.2 also parses) into a SystemConfig. */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from './errors.ts';
import type { SystemConfig } from './types.ts';
import { validateConfig } from './validate.ts';

/** Parses config text; `source` names the file in error messages. */
export function parseConfigText(text: string, source: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = document.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0];
    const where = line === undefined ? source : `${source}:${line.line}:${line.col}`;
    throw new ConfigError('', `${where}: ${first.message.split('\n')[0]}`);
  }
  return document.toJS({ maxAliasCount: 100 });
}

export async function loadConfigFile(path: string, cwd: string = process.cwd()): Promise<SystemConfig> {
  const absolute = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError('', `cannot read config ${absolute}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return validateConfig(parseConfigText(text, absolute), { baseDir: dirname(absolute), cwd });
}
