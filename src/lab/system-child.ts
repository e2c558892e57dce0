/**
 * A lab system as a child process (`iscsi-sim serve --config FILE`; serve attaches replication when the
 * config names a Redis): its output goes to a log file in its state dir, and its `iscsi-sim ready:`
 * line tells us it serves.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseReadyLine } from '../system/ready-line.ts';
import type { SystemSummary } from '../system/system.ts';
import { spawnTied } from './tied-spawn.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'iscsi-sim.js');

export interface SystemChild {
  readonly name: string;
  readonly logPath: string;
  readonly summary: SystemSummary;
  readonly process: ChildProcess;
  /** Resolves once the process is gone, with how it ended ("code 1", "signal SIGKILL"). */
  readonly exited: Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (true: it needed SIGKILL). */
  stop(graceMs?: number): Promise<boolean>;
  /** SIGKILL (a crash); resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * Starts the system and resolves once it is ready; rejects (and kills it) when it exits first, is not
 * ready in time, or `signal` aborts. The child dies with this process (tied-spawn.ts).
 */
export async function startSystemChild(name: string, configPath: string, stateDir: string, readyTimeoutMs = 60_000, signal?: AbortSignal): Promise<SystemChild> {
  const logPath = join(stateDir, 'system.log');
  const log = createWriteStream(logPath, { flags: 'a' });
  // Profiling hook, e.g. ISCSI_SIM_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = (process.env.ISCSI_SIM_CHILD_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const child = spawnTied(process.execPath, [...nodeArgs, BIN, 'serve', '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ISCSI_SIM_LOG_FORMAT: process.env.ISCSI_SIM_LOG_FORMAT ?? 'json' },
  }, 'KILL');
  child.stderr?.pipe(log, { end: false });
  // serve reports why it could not start in one `iscsi-sim: …` stderr line (e.g. the address in use).
  let lastErrorLine = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    const found = chunk.split('\n').filter((line) => line.startsWith('iscsi-sim: ')).pop();
    if (found !== undefined) lastErrorLine = found.slice('iscsi-sim: '.length);
  });
  const exited = new Promise<string>((done) => child.once('exit', (code, signalName) => done(signalName ? `signal ${signalName}` : `code ${code}`)));
  const summary = await new Promise<SystemSummary>((resolveReady, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => finish(new Error(`${name} not ready within ${readyTimeoutMs / 1000} s (see ${logPath})`)), readyTimeoutMs);
    const onExit = (code: number | null, how: NodeJS.Signals | null) => finish(new Error(`${name} exited (${how ?? code}) before it was ready${lastErrorLine === '' ? '' : `: ${lastErrorLine}`} (see ${logPath})`));
    const onAbort = () => finish(new Error(`${name}: start cancelled`));
    signal?.addEventListener('abort', onAbort);
    function finish(error: Error | undefined, ready?: SystemSummary): void {
      clearTimeout(timer);
      child.off('close', onExit);
      signal?.removeEventListener('abort', onAbort);
      if (error) { child.kill('SIGKILL'); reject(error); } else resolveReady(ready!);
    }
    if (signal?.aborted) onAbort();
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      const ready = parseReadyLine(line);
      if (ready) finish(undefined, ready);
    });
    // 'close', not 'exit': by then stderr is read to its end, so the error line is known.
    child.once('close', onExit);
  });
  return {
    name,
    logPath,
    summary,
    process: child,
    exited,
    stop: async (graceMs = 15_000) => {
      let killed = false;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      log.end();
      return killed;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      log.end();
    },
  };
}
