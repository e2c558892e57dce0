/** Runs the real CLI (bin/iscsi-sim.js) to its end and collects what it said (not a test file). */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cliPath } from './system-process.ts';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock time the run took. */
  readonly ms: number;
}

/** `iscsi-sim ...args`, killed (SIGKILL) if it has not ended within `boundMs`. */
export async function runCli(args: readonly string[], boundMs: number): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, ms: Date.now() - started };
}
