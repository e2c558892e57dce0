/**
 * A private redis-server child process: loopback only, data in its own dir, AOF optional. Used by
 * `iscsi-sim lab` and by the replication integration tests (which kill and restart it on purpose).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { spawnTied } from './tied-spawn.ts';

export interface EmbeddedRedisOptions {
  readonly dir: string;
  /** 0 = pick a free port. */
  readonly port?: number;
  readonly appendOnly?: boolean;
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
  /** More redis-server arguments (e.g. `--cluster-enabled yes`). */
  readonly extraArgs?: readonly string[];
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

/** One redis-server process: ready to accept connections when returned. */
export interface RedisProcess {
  readonly pid: number | undefined;
  /** Resolves once the process is gone, with how it ended ("code 0", "signal SIGKILL"). */
  readonly exited: Promise<string>;
  /** `signal` (SIGTERM: SHUTDOWN semantics, AOF synced), SIGKILL after 5 s; resolves once gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts redis-server on `port` (loopback only, data in `dir`); the process dies with this one
 * (tied-spawn.ts). Rejects when it exits before ready or is not ready in time.
 */
export async function launchRedisServer(options: EmbeddedRedisOptions & { readonly port: number }): Promise<RedisProcess> {
  await mkdir(options.dir, { recursive: true });
  const args = [
    '--port', String(options.port), '--bind', '127.0.0.1', '--dir', options.dir, '--save', '',
    '--appendonly', options.appendOnly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction',
    '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'notice', ...(options.extraArgs ?? []),
  ];
  const proc = spawnTied(options.binary ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }, 'TERM');
  const exited = new Promise<string>((resolve) => proc.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`)));
  // Never leave a private Redis behind when this process exits without stopping it.
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  try {
    await waitReady(proc, options.port, options.readyTimeoutMs ?? 10_000);
  } catch (error) {
    proc.kill('SIGKILL');
    throw error;
  }
  return {
    pid: proc.pid,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const port = options.port || await freeLoopbackPort();
  let current: RedisProcess | undefined;
  const launch = async (): Promise<void> => { current = await launchRedisServer({ ...options, port }); };
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = current;
    current = undefined;
    await proc?.stop(signal);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() { return current?.pid; },
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    restart: async () => { await halt('SIGTERM'); await launch(); },
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

/** A Redis Cluster node also listens on its port + 10000 (the cluster bus). */
export const CLUSTER_BUS_OFFSET = 10_000;

/**
 * A base port N such that N..N+span-1 are all free on 127.0.0.1 right now (the lab uses 7), and with
 * `clusterBus` their cluster bus ports (+10000) too. Every port stays below the kernel's ephemeral
 * range: a port in it can be taken by any outgoing connection between this check and the bind (a
 * cluster test once lost its bus port 36386 that way).
 */
export async function freeLoopbackPortRange(span: number, options: { clusterBus?: boolean; attempts?: number } = {}): Promise<number> {
  const bindable = (port: number) => new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  const offsets = options.clusterBus ? [0, CLUSTER_BUS_OFFSET] : [0];
  const lowest = 20_000;
  const belowEphemeral = ephemeralPortsFrom() - span - offsets.at(-1)!;
  // An ephemeral range that starts low leaves no room below it: then any free ports will do.
  const highest = belowEphemeral > lowest + 1000 ? belowEphemeral : 65_535 - span - offsets.at(-1)!;
  for (let attempt = 0; attempt < (options.attempts ?? 50); attempt++) {
    const base = lowest + Math.floor(Math.random() * (highest - lowest));
    let free = true;
    for (let port = base; port < base + span && free; port++) {
      for (const offset of offsets) if (free) free = await bindable(port + offset);
    }
    if (free) return base;
  }
  throw new Error(`no ${span} free consecutive loopback ports`);
}

/** The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range; Linux's default 32768). */
function ephemeralPortsFrom(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32_768;
  } catch {
    return 32_768; // not Linux: the IANA range starts at 49152, so this stays clear of it as well
  }
}
