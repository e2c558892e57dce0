/**
 * A private redis-server child process: loopback only, data in its own dir, AOF optional. Used by
 * `iscsi-sim lab` and by the replication integration tests (which kill and restart it on purpose).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface EmbeddedRedisOptions {
  readonly dir: string;
  /** 0 = pick a free port. */
  readonly port?: number;
  readonly appendOnly?: boolean;
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
}

export interface EmbeddedRedis {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** Graceful stop (SHUTDOWN semantics via SIGTERM), bounded; SIGKILL after the bound. */
  stop(): Promise<void>;
  /** Abrupt death, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and dir (after stop/kill). */
  restart(): Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  await mkdir(options.dir, { recursive: true });
  const port = options.port || await freeLoopbackPort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir, '--save', '',
      '--appendonly', options.appendOnly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction',
      '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'notice',
    ];
    const proc = spawn(options.binary ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    // Never leave a private Redis behind when this process exits without stopping it.
    const killOnExit = () => proc.kill('SIGKILL');
    process.once('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    await waitReady(proc, port, options.readyTimeoutMs ?? 10_000);
  };

  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() { return child?.pid; },
    stop: () => waitExit('SIGTERM'),
    kill: () => waitExit('SIGKILL'),
    restart: async () => { await waitExit('SIGTERM'); await launch(); },
  };
}

function waitReady(proc: ChildProcess, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} not ready after ${timeoutMs} ms: ${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) done();
    };
    const onExit = (code: number | null) => fail(new Error(`redis-server exited (${code}) before ready: ${output}`));
    const cleanup = () => {
      clearTimeout(timer);
      proc.stdout?.off('data', onData);
      proc.off('exit', onExit);
      proc.off('error', fail);
    };
    function done() { cleanup(); proc.stdout?.resume(); proc.stderr?.resume(); resolve(); }
    function fail(err: Error) { cleanup(); reject(err); }
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    proc.once('exit', onExit);
    proc.once('error', fail);
  });
}

/** A base port N such that N..N+span-1 are all free on 127.0.0.1 right now (the lab uses 7). */
export async function freeLoopbackPortRange(span: number, attempts = 50): Promise<number> {
  const bindable = (port: number) => new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  for (let attempt = 0; attempt < attempts; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let free = true;
    for (let port = base; port < base + span && free; port++) free = await bindable(port);
    if (free) return base;
  }
  throw new Error(`no ${span} free consecutive loopback ports`);
}
