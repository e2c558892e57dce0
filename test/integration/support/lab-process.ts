/**
 * Runs a real `iscsi-sim lab` (embedded redis-server, primary and peer `serve` processes, the mirror
 * made through CIM) for integration tests: free ports, waits for its `lab ready: {JSON}` line, and
 * SIGKILLs it at teardown if the test did not stop it (its children die with it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LabReady } from '../../../src/lab/lab-runner.ts';
import { freeLabBasePort, type TapLike } from '../../unit/replication/helpers.ts';
import { freeLoopbackPortRange } from '../../../src/lab/embedded-redis.ts';
import { cliPath } from './system-process.ts';

export interface RunningLab {
  readonly process: ChildProcess;
  readonly ready: LabReady;
  /** The lab's exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves with the first line (from now on) matching `pattern`; rejects after `timeoutMs`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Everything the lab printed so far. */
  output(): string;
}

export interface StartLabOptions {
  readonly stateDir: string;
  /** LUN size of each system ('64M'). */
  readonly size: string;
  readonly readyTimeoutMs?: number;
  /** More `lab` flags (e.g. --redis-cluster 3 --luns 16). */
  readonly args?: readonly string[];
  /** Consecutive free ports from the base port the lab needs (8, more with --redis-cluster). */
  readonly portSpan?: number;
  /** The lab starts a Redis Cluster on some of those ports: their cluster bus ports (+10000) must be free too. */
  readonly clusterBus?: boolean;
}

export async function startLab(t: TapLike, options: StartLabOptions): Promise<RunningLab> {
  const basePort = options.portSpan === undefined ? await freeLabBasePort() : await freeLoopbackPortRange(options.portSpan, { clusterBus: options.clusterBus ?? false });
  const lab = spawn(process.execPath, [cliPath, 'lab', '--state-dir', options.stateDir, '--base-port', String(basePort), '--size', options.size, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => { if (lab.exitCode === null && lab.signalCode === null) lab.kill('SIGKILL'); });
  let output = '';
  const waiters = new Set<{ pattern: RegExp; done: (match: RegExpMatchArray) => void }>();
  lab.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  createInterface({ input: lab.stdout }).on('line', (text) => {
    output += `${text}\n`;
    for (const waiter of waiters) {
      const match = text.match(waiter.pattern);
      if (match) { waiters.delete(waiter); waiter.done(match); }
    }
  });
  const exited = new Promise<number | null>((resolve) => lab.once('exit', (code) => resolve(code)));
  const line = (pattern: RegExp, timeoutMs = 60_000) => new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${output.slice(-4000)}`)); }, timeoutMs);
    const waiter = { pattern, done: (match: RegExpMatchArray) => { clearTimeout(timer); resolve(match); } };
    waiters.add(waiter);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`lab exited (${code}):\n${output.slice(-4000)}`)); });
  });
  const readyLine = await line(/^lab ready: (.*)$/, options.readyTimeoutMs ?? 120_000);
  return { process: lab, ready: JSON.parse(readyLine[1]!) as LabReady, exited, line, output: () => output };
}

/** The process `pid` exists (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
