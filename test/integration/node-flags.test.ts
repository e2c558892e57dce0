/**
 * bin/iscsi-sim.js runs node with the hot path's V8 flags (--single-threaded-gc) by replacing itself
 * (execve): the process started is the process serving (same pid, so kill and supervisors still
 * work), its stdout and stderr stay connected, a profiler started on the first image does not kill
 * the second, and ISCSI_SIM_NODE_FLAGS=keep leaves node as started.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, startSystem } from './support/system-process.ts';

function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
}

t.test('serve runs under --single-threaded-gc in the process that was started', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const system = await startSystem({ luns: ['16M'] });
  t.teardown(() => system.stop());
  const argv = commandLine(system.pid);
  t.equal(argv[1], '--single-threaded-gc', `flag given to node: ${argv.join(' ')}`);
  t.ok(argv.includes('serve'), 'with the same arguments');
  t.ok(system.summary.portals.length > 0, 'the ready line reached the parent through stdout');
  t.equal(await system.stop(), 0, 'SIGTERM to the started pid stops it cleanly');
});

t.test('ISCSI_SIM_NODE_FLAGS=keep runs node as started', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const system = await startSystem({ luns: ['16M'], env: { ISCSI_SIM_NODE_FLAGS: 'keep' } });
  t.teardown(() => system.stop());
  t.notOk(commandLine(system.pid).includes('--single-threaded-gc'), 'no flag added');
});

t.test('under --cpu-prof the replaced process lives on and writes its profile', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const dir = t.testdir();
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '10', '--cpu-prof-dir', join(dir, 'prof'), cliPath, 'serve', '--listen', '127.0.0.1:0',
    '--lun', `${join(dir, 'lun.img')}:16M`, '--state-dir', join(dir, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let stdout = '';
  const ready = await new Promise<boolean>((done) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('iscsi-sim ready:')) done(true);
    });
    void exited.then(() => done(false));
  });
  t.ok(ready, 'serve became ready (a SIGPROF right after the execve killed it once under load: timing-dependent, so a guard)');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'stopped cleanly');
  t.ok(readdirSync(join(dir, 'prof')).some((name) => name.endsWith('.cpuprofile')), 'profile written');
});
