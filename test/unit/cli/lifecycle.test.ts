/**
 * A stop that fails (a LUN that could not be flushed) must reach the operator: stderr names it and
 * the process exits 1. Before, the failure was only logged and the process exited 0.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../support/wait-for.ts';

const lifecycle = fileURLToPath(new URL('../../../src/cli/lifecycle.ts', import.meta.url));

function runUntilSigterm(dir: string, stopBody: string): Promise<{ code: number | null; stderr: string }> {
  const script = join(dir, 'service.ts');
  writeFileSync(script, `import { exitSoon, stopOnSignals } from ${JSON.stringify(lifecycle)};
process.stdout.write('running\\n');
const clean = await stopOnSignals(async () => { ${stopBody} }, 'system sim');
exitSoon(clean ? 0 : 1);
`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    void waitFor(() => stdout.includes('running'), 30_000, 20).then((up) => {
      if (!up) { child.kill('SIGKILL'); reject(new Error(`the service did not start: ${stderr}`)); return; }
      child.kill('SIGTERM');
    });
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

t.test('a failed stop exits 1 and says what failed on stderr', async (t) => {
  const result = await runUntilSigterm(t.testdir(), "throw new Error('flushing /luns/a.img: EIO');");
  t.equal(result.code, 1);
  t.match(result.stderr, /iscsi-sim: stopping system sim failed: flushing \/luns\/a\.img: EIO/);
});

t.test('a clean stop exits 0', async (t) => {
  const result = await runUntilSigterm(t.testdir(), 'return;');
  t.equal(result.code, 0);
  t.notMatch(result.stderr, /failed/);
});
