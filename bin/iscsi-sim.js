#!/usr/bin/env node
// Entry point. An installed package runs the compiled JavaScript in dist/ (`npm run build`, run by
// `prepack`). A git checkout (src/ present) runs the TypeScript through tsx, a devDependency, so
// tests and development never run a stale build; with tsx absent it falls back to dist/.
// The libuv thread pool runs the backstores' pwrite (and the reads the page cache cannot answer):
// one thread per CPU, at least 2 (a flush or a cache miss must not stall every write); more only
// contend for the pool's mutex, the file's inode lock and the CPUs. Measured on 2 CPUs
// (bench/RESULTS.md): 2 threads against 4, 4 KiB writes ~10% less target CPU per GiB. Node's ESM
// loader has started the pool (4 threads) before this file runs, so the variable set here reaches
// only child processes; `serve` re-executes itself with it (below) when it was not given.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { URL } from 'node:url';
const POOL_SIZE_GIVEN = process.env.UV_THREADPOOL_SIZE !== undefined;
process.env.UV_THREADPOOL_SIZE ??= String(Math.min(16, Math.max(2, availableParallelism())));

// ISCSI_SIM_NODE_FLAGS="--single-threaded-gc ...": node/V8 flags that V8 accepts only on the node
// command line (setting them at run time aborts; NODE_OPTIONS refuses most). When one is missing, the
// process replaces itself (execve: same pid, so supervisors, kill and the parent-death signal still
// see one process) with node + the flags + the same arguments. Off by default: --single-threaded-gc
// made 64 KiB writes ~25% cheaper in CPU per GiB but 4 KiB random reads ~40-65% dearer (A/B figures
// in bench/RESULTS.md), so it is for write-heavy use only.
const NODE_FLAGS = (process.env.ISCSI_SIM_NODE_FLAGS ?? '').split(/\s+/).filter((word) => word !== '');
const notFlag = NODE_FLAGS.find((word) => !word.startsWith('--'));
if (notFlag !== undefined) {
  process.stderr.write(`iscsi-sim: ISCSI_SIM_NODE_FLAGS: ${JSON.stringify(notFlag)} is not a node flag (expected --name or --name=value)\n`);
  process.exit(1);
}
reexecForNodeSetup();

function reexecForNodeSetup() {
  const missing = NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag));
  // The I/O server only: the pool size takes effect in a new image (see the top of this file).
  const poolUnsized = !POOL_SIZE_GIVEN && process.argv.slice(2).includes('serve');
  // NODE_CHANNEL_FD: an IPC child (fork) holds a channel descriptor node has marked close-on-exec.
  if ((missing.length === 0 && !poolUnsized) || process.platform !== 'linux' || process.env.NODE_CHANNEL_FD) return;
  let koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi');
  } catch {
    return; // no FFI: run without the flags
  }
  try {
    const libc = koffi.load('libc.so.6');
    const fcntl = libc.func('int fcntl(int fd, int cmd, ...)');
    const execve = libc.func('int execve(const char *path, const char **argv, const char **envp)');
    const signal = libc.func('intptr_t signal(int signum, intptr_t handler)');
    const F_SETFD = 2;
    const SIGPROF = 27;
    const SIG_IGN = 1;
    // node marks stdin/stdout/stderr close-on-exec at start-up; the new image must keep them.
    for (const fd of [0, 1, 2]) fcntl(fd, F_SETFD, 'int', 0);
    // Under --cpu-prof a SIGPROF sent before the new image's profiler is set up would kill it (the
    // default action); ignored is inherited until the new profiler installs its handler.
    signal(SIGPROF, SIG_IGN);
    const argv = [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1), null];
    const envp = [...Object.entries(process.env).map(([key, value]) => `${key}=${value}`), null];
    execve(process.execPath, argv, envp);
  } catch {
    // fall through: execve returned (it failed) or libc could not be loaded; run without the flags
  }
}

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
