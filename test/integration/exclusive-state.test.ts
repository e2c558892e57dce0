/**
 * Exclusive state with real processes: a second `iscsi-sim serve` on a LUN file or a state dir that a
 * running serve holds exits 1 within seconds naming the holder's PID, and the first keeps serving
 * (qemu-img still reads its LUN). The lab's own state-dir lock is shown in lab-supervision.test.ts.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cliPath, startSystem } from './support/system-process.ts';
import { missingTools, run } from './support/tools.ts';

const skip = missingTools({ 'qemu-img': 'qemu-utils' });

function serve(args: readonly string[], cwd: string): Promise<{ status: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [cliPath, 'serve', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((done) => child.once('exit', (status) => {
    clearTimeout(killer);
    done({ status, stderr, ms: Date.now() - started });
  }));
}

t.test('a second serve on a LUN file or a state dir in use exits 1 naming the holder; the first keeps serving', { skip }, async (t) => {
  const first = await startSystem({ luns: ['16M'] });
  t.teardown(() => first.stop());
  const lun = join(first.dir, 'lun0.img');
  const other = t.testdir();

  const onLun = await serve(['--listen', '127.0.0.1:0', '--lun', `${lun}:16M`, '--state-dir', join(other, 'state'), '--name', 'second'], other);
  t.equal(onLun.status, 1, 'second serve on the LUN file exits 1');
  const [prefix, suffix] = [`iscsi-sim: cannot start system second: LUN 0 of iqn.`, ` (${lun}): the file is in use by process ${first.pid}`];
  t.ok(onLun.stderr.trim().startsWith(prefix) && onLun.stderr.trim().endsWith(suffix), `names the LUN file and the holder: ${onLun.stderr.trim()}`);
  // A hang guard, not a timing check: node + tsx start-up alone takes up to ~10 s on a loaded 2-CPU machine.
  t.ok(onLun.ms < 20_000, `refused in ${onLun.ms} ms`);

  const onState = await serve(['--listen', '127.0.0.1:0', '--lun', `${join(other, 'own.img')}:16M`, '--state-dir', join(first.dir, 'state'), '--name', 'third'], other);
  t.equal(onState.status, 1, 'second serve on the state dir exits 1');
  t.equal(onState.stderr.trim(), `iscsi-sim: cannot start system third: state dir ${join(first.dir, 'state')} is in use by process ${first.pid}`);

  t.ok(first.alive(), 'the first serve is still running');
  const info = await run('qemu-img', ['info', '--output=json', first.url()], 30_000);
  t.equal(info.code, 0, `qemu-img still reads the first system's LUN ${info.stderr}`);
  t.equal((JSON.parse(info.stdout) as { 'virtual-size': number })['virtual-size'], 16 * 1024 * 1024);
});
