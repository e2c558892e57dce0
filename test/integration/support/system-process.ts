/**
 * Runs a real `iscsi-sim serve` child process for integration tests (quick form or a config file),
 * waits for its `iscsi-sim ready: {JSON}` line and stops it with SIGTERM (SIGKILL after a bound).
 * Every test gets free ports (port 0 portals) and a fresh temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTied } from '../../../src/lab/tied-spawn.ts';
import { parseReadyLine } from '../../../src/system/ready-line.ts';
import type { SystemSummary } from '../../../src/system/system.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = join(repoRoot, 'bin', 'iscsi-sim.js');

export interface RunningSystem {
  readonly summary: SystemSummary;
  readonly pid: number;
  /** Temp dir holding LUN files and state; removed by stop(). */
  readonly dir: string;
  /** iscsi://host:port/iqn/lun through the first portal of the target's first portal group. */
  url(targetIndex?: number, lun?: number): string;
  /** host:port of the first portal, IPv6 in brackets. */
  portal(index?: number): string;
  /** Everything the process printed so far (stdout then stderr, JSON log lines). */
  output(): string;
  /** Resolves true once the output contains `text` (on the output event), false at the bound or exit. */
  printed(text: string, timeoutMs?: number): Promise<boolean>;
  alive(): boolean;
  /** SIGTERM, wait (bounded), SIGKILL if needed; resolves the exit code (null when killed). */
  stop(): Promise<number | null>;
}

export interface StartSystemOptions {
  /** Quick form: LUN sizes ('64M'), one sparse file each in the temp dir. Ignored with `config`. */
  readonly luns?: readonly string[];
  /** Quick form: where the `luns` live (default file; memory is `--lun memory:SIZE`). */
  readonly backstore?: 'file' | 'memory';
  readonly iqn?: string;
  /** A config document (written to the temp dir as JSON; relative paths resolve there). */
  readonly config?: Record<string, unknown>;
  readonly extraArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** The iscsi-sim bin to run (default: this checkout's bin/iscsi-sim.js). */
  readonly cli?: string;
  /** Run inside this network namespace (`ip netns exec`, which execs: the pid is the system's). */
  readonly netns?: string;
  /** Use this (existing, empty) dir instead of a fresh temp dir; still removed by stop(). */
  readonly dir?: string;
}

const STOP_TIMEOUT_MS = 20_000;

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export async function startSystem(options: StartSystemOptions = {}): Promise<RunningSystem> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'iscsi-sim-it-'));
  let args: string[];
  if (options.config !== undefined) {
    const configPath = join(dir, 'system.json');
    writeFileSync(configPath, JSON.stringify({ stateDir: 'state', ...options.config }));
    args = ['serve', '--config', configPath];
  } else {
    const luns = options.luns ?? ['64M'];
    args = ['serve', '--listen', '127.0.0.1:0', '--state-dir', join(dir, 'state'), '--name', 'it',
      '--iqn', options.iqn ?? 'iqn.2026-11.org.iscsi-sim:it',
      ...luns.flatMap((size, index) => ['--lun', options.backstore === 'memory' ? `memory:${size}` : `${join(dir, `lun${index}.img`)}:${size}`])];
  }
  args.push(...(options.extraArgs ?? []));

  const command = [process.execPath, options.cli ?? cliPath, ...args];
  if (options.netns !== undefined) command.unshift('ip', 'netns', 'exec', options.netns);
  const spawnOptions = { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] as const, env: { ...process.env, ISCSI_SIM_LOG_FORMAT: 'json', ...options.env } };
  // In a namespace the test made, the system dies with the test (a killed test leaves no process that
  // keeps the namespace alive); elsewhere a plain child, as always.
  const child: ChildProcess = options.netns !== undefined
    ? spawnTied(command[0], command.slice(1), { ...spawnOptions, stdio: [...spawnOptions.stdio] }, 'KILL')
    : spawn(command[0], command.slice(1), { ...spawnOptions, stdio: [...spawnOptions.stdio] });
  let stdout = '';
  let stderr = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => {
    exitCode = code;
    done(code);
  }));
  const outputWaiters = new Set<() => void>();
  const outputGrew = (): void => { for (const check of [...outputWaiters]) check(); };
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    outputGrew();
  });
  let outputClosed = false;
  child.once('close', () => {
    outputClosed = true;
    outputGrew();
  });

  const summary = await new Promise<SystemSummary>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`iscsi-sim serve not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${stderr.slice(-3000)}`)), options.readyTimeoutMs ?? 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      outputGrew();
      for (const line of stdout.split('\n')) {
        const parsed = parseReadyLine(line);
        if (parsed !== undefined) {
          clearTimeout(timer);
          done(parsed);
          return;
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`iscsi-sim serve exited (${code}) before ready:\n${stdout}${stderr.slice(-3000)}`));
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });

  const stop = async (): Promise<number | null> => {
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
    return exitCode ?? null;
  };

  return {
    summary,
    pid: child.pid ?? -1,
    dir,
    url: (targetIndex = 0, lun = 0) => {
      const target = summary.targets[targetIndex];
      const portal = summary.portals.find((p) => target.portalGroupTags.includes(p.portalGroupTag)) ?? summary.portals[0];
      return `iscsi://${hostPort(portal.address, portal.port)}/${target.iqn}/${lun}`;
    },
    portal: (index = 0) => hostPort(summary.portals[index].address, summary.portals[index].port),
    output: () => `${stdout}${stderr}`,
    printed: (text, timeoutMs = 30_000) => new Promise<boolean>((resolve) => {
      // Each stream is searched from where the last search left off (less the text's length).
      let seenOut = 0;
      let seenErr = 0;
      const found = (): boolean => {
        const hit = stdout.includes(text, Math.max(0, seenOut - text.length)) || stderr.includes(text, Math.max(0, seenErr - text.length));
        seenOut = stdout.length;
        seenErr = stderr.length;
        return hit;
      };
      const finish = (result: boolean): void => {
        clearTimeout(timer);
        outputWaiters.delete(check);
        resolve(result);
      };
      const check = (): void => {
        if (found()) finish(true);
        else if (outputClosed) finish(false);
      };
      const timer = setTimeout(() => finish(found()), timeoutMs);
      outputWaiters.add(check);
      check();
    }),
    alive: () => exitCode === undefined,
    stop,
  };
}
