#!/usr/bin/env node
// Entry point: loads the TypeScript CLI through tsx's ESM loader (no build step).
// The libuv thread pool runs the backstores' pwrite (and the reads the page cache cannot answer):
// size it before anything uses it (hence the dynamic imports below, which run after this line;
// static ones would be hoisted). Two threads per CPU: more only contend for the file's inode lock
// and the CPUs (measured on 2 CPUs: 4 threads did 4 KiB writes ~1.3x faster than 16).
import { availableParallelism } from 'node:os';
process.env.UV_THREADPOOL_SIZE ??= String(Math.min(16, Math.max(4, 2 * availableParallelism())));

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
