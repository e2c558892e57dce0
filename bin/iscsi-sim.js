#!/usr/bin/env node
// Entry point. An installed package runs the compiled JavaScript in dist/ (`npm run build`, run by
// `prepack`). A git checkout (src/ present) runs the TypeScript through tsx, a devDependency, so
// tests and development never run a stale build; with tsx absent it falls back to dist/.
// The libuv thread pool runs the backstores' pwrite (and the reads the page cache cannot answer):
// size it before anything uses it (hence the dynamic imports below, which run after this line;
// static ones would be hoisted). Two threads per CPU: more only contend for the file's inode lock
// and the CPUs (measured on 2 CPUs: 4 threads did 4 KiB writes ~1.3x faster than 16).
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { URL } from 'node:url';
process.env.UV_THREADPOOL_SIZE ??= String(Math.min(16, Math.max(4, 2 * availableParallelism())));

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

async function loadTsx() {
  try {
    return await import('tsx/esm/api');
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

let entry = compiled;
if (existsSync(source)) {
  const tsx = await loadTsx();
  if (tsx) {
    tsx.register();
    entry = source;
  }
}
if (entry === compiled && !existsSync(compiled)) {
  process.stderr.write('iscsi-sim: dist/cli/main.js is missing and tsx is not installed: run `npm ci` (development) or `npm run build`\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
