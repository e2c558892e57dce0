/**
 * Issue 12: under a supervisor, SIGTERM to `npx iscsi-sim serve` killed npm and its `sh -c` but left
 * the serve running, orphaned, holding its port. A serve whose parent dies now stops cleanly.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pidAlive } from '../../integration/support/lab-process.ts';
import { cliPath } from '../../integration/support/system-process.ts';
import { waitFor } from '../../support/wait-for.ts';



t.test('a serve whose parent is killed stops and frees its port', async (t) => {
  const dir = t.testdir();
  // sh stands for npm exec's `sh -c`: SIGKILL to it does not reach its child.
  const sh = spawn('sh', ['-c', '"$@" & echo "pid $!"; wait', 'sh', process.execPath, cliPath, 'serve', '--listen', '127.0.0.1:0',
    '--lun', join(dir, 'x.img:1M'), '--state-dir', join(dir, 'st'), '--name', 'orphan'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  sh.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  sh.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  t.teardown(() => {
    const pid = /^pid (\d+)$/m.exec(output)?.[1];
    if (pid !== undefined && pidAlive(Number(pid))) process.kill(Number(pid), 'SIGKILL');
  });
  t.ok(await waitFor(() => /iscsi-sim ready: /.test(output), 60_000, 100), 'serve is ready', { output });
  const pid = Number(/^pid (\d+)$/m.exec(output)?.[1]);
  const port = Number(/"port":(\d+)/.exec(output)?.[1]);
  sh.kill('SIGKILL');
  const started = Date.now();
  t.ok(await waitFor(() => !pidAlive(pid), 20_000, 100), `the orphaned serve exited (${Date.now() - started} ms after its parent died)`);
  t.match(output, /iscsi-sim counters: /, 'it stopped cleanly (counters line printed on shutdown)');
  const free = await new Promise<boolean>((done) => {
    const probe = createServer().once('error', () => done(false)).listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
  t.ok(free, `port ${port} is free again`);
});
