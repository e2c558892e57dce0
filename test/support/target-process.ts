/**
 * Runs the real `iscsi-sim serve` quick form as a child process for integration tests and benchmarks,
 * and waits until its portal accepts TCP connections.
 *
 * ISCSI_SIM_TEST_TARGET=HOST:PORT/IQN points the tests at an already running target instead (e.g.
 * tgtd while developing a test); then there is no process and no log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TargetProcess {
  host: string;
  port: number;
  iqn: string;
  /** iscsi://host:port/iqn/0 */
  url: string;
  /** Everything the server printed so far (stdout + stderr); empty for an external target. */
  log(): string;
  /** True while the server process runs (always true for an external target). */
  alive(): boolean;
  external: boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** LUN sizes like '256M'; one sparse file each in a fresh temp dir. */
  luns?: string[];
  iqn?: string;
  extraArgs?: string[];
  /**
   * Config-file form instead of the quick form: returns the YAML for a portal on 127.0.0.1:port, with
   * LUN files under dir. The target named `iqn` should be in it.
   */
  config?: (port: number, dir: string) => string;
  readyTimeoutMs?: number;
}

/** A port the kernel just handed out on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function externalTarget(spec: string): TargetProcess {
  const m = /^([^:/]+):(\d+)\/(.+)$/.exec(spec);
  if (!m) throw new Error(`ISCSI_SIM_TEST_TARGET must be HOST:PORT/IQN, got ${spec}`);
  const [, host, port, iqn] = m;
  return {
    host, port: Number(port), iqn, url: `iscsi://${host}:${port}/${iqn}/0`, external: true,
    log: () => '', alive: () => true, stop: async () => undefined,
  };
}

export async function startTarget(options: StartOptions = {}): Promise<TargetProcess> {
  if (process.env.ISCSI_SIM_TEST_TARGET) return externalTarget(process.env.ISCSI_SIM_TEST_TARGET);
  const host = '127.0.0.1';
  const port = await freePort();
  const iqn = options.iqn ?? 'iqn.2026-11.org.iscsi-sim:test';
  const dir = mkdtempSync(join(tmpdir(), 'iscsi-sim-target-'));
  const lunArgs = (options.luns ?? ['256M']).flatMap((size, i) => ['--lun', `${join(dir, `lun${i}.img`)}:${size}`]);
  let serveArgs = ['--listen', `${host}:${port}`, '--iqn', iqn, '--state-dir', join(dir, 'state'), ...lunArgs];
  if (options.config) {
    const file = join(dir, 'system.yaml');
    writeFileSync(file, options.config(port, dir));
    serveArgs = ['--config', file];
  }
  const args = [join(repoRoot, 'bin', 'iscsi-sim.js'), 'serve', ...serveArgs, ...(options.extraArgs ?? [])];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ISCSI_SIM_LOG_FORMAT: 'json' },
  });
  let text = '';
  let exited = false;
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exitedPromise = new Promise<void>((done) => child.once('exit', () => {
    exited = true;
    done();
  }));

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitedPromise;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (!(await canConnect(host, port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`iscsi-sim serve did not open ${host}:${port} (${exited ? 'exited' : 'timeout'}):\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    host, port, iqn, url: `iscsi://${host}:${port}/${iqn}/0`, external: false,
    log: () => text, alive: () => !exited, stop,
  };
}
