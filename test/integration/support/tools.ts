/** Real initiator binaries: which are installed, and running them with a bound. */
import { execFile, spawnSync } from 'node:child_process';

/** Undefined when every command is on PATH, else a skip reason naming the missing ones and their package. */
export function missingTools(tools: Readonly<Record<string, string>>): string | undefined {
  const missing = Object.entries(tools).filter(([command]) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0);
  if (missing.length === 0) return undefined;
  return `not installed: ${missing.map(([command, pkg]) => `${command} (apt-get install ${pkg})`).join(', ')}`;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  /** stdout as bytes (some tools print binary fields raw). */
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

export function run(command: string, args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((done) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL', encoding: 'buffer' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      done({ code, stdout: stdout.toString(), stdoutBytes: stdout, stderr: stderr.toString() });
    });
  });
}
