#!/usr/bin/env node
// Entry point: loads the TypeScript CLI through tsx's ESM loader (no build step).
// The libuv thread pool runs the backstores' pread/pwrite: size it before anything uses it
// (hence the dynamic imports below, which run after this line; static ones would be hoisted).
process.env.UV_THREADPOOL_SIZE ??= '16';

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
