/**
 * ISCSI_SIM_NODE_FLAGS: bin/iscsi-sim.js runs node with command-line-only V8 flags by replacing
 * itself (execve): the process started is the process serving (same pid, so kill and supervisors still
 * work), its stdout and stderr stay connected, a profiler started on the first image does not kill
 * the second; unset, node runs as started; a word that is not a flag is refused.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { cliPath, startSystem } from './support/system-process.ts';

function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
}

const GC_FLAG = { ISCSI_SIM_NODE_FLAGS: '--single-threaded-gc' };

t.test('serve runs under --single-threaded-gc in the process that was started', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const system = await startSystem({ luns: ['16M'], env: GC_FLAG });
  t.teardown(() => system.stop());
  const argv = commandLine(system.pid);
  t.equal(argv[1], '--single-threaded-gc', `flag given to node: ${argv.join(' ')}`);
  t.ok(argv.includes('serve'), 'with the same arguments');
  t.ok(system.summary.portals.length > 0, 'the ready line reached the parent through stdout');
  t.equal(await system.stop(), 0, 'SIGTERM to the started pid stops it cleanly');
});

t.test('without ISCSI_SIM_NODE_FLAGS node runs as started', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const system = await startSystem({ luns: ['16M'] });
  t.teardown(() => system.stop());
  t.notOk(commandLine(system.pid).includes('--single-threaded-gc'), 'no flag added');
});

t.test('a word that is not a flag is refused, naming it', async (t) => {
  const child = spawn(process.execPath, [cliPath, '--version'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ISCSI_SIM_NODE_FLAGS: '--single-threaded-gc single' } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  t.equal(code, 1);
  t.match(stderr, 'ISCSI_SIM_NODE_FLAGS: "single" is not a node flag');
});

t.test('under --cpu-prof the replaced process lives on and writes its profile', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const dir = t.testdir();
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '10', '--cpu-prof-dir', join(dir, 'prof'), cliPath, 'serve', '--listen', '127.0.0.1:0',
    '--lun', `${join(dir, 'lun.img')}:16M`, '--state-dir', join(dir, 'state')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...GC_FLAG } });
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

function environment(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e !== '');
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

// /proc/PID/environ is the environment the running image started with: node reads UV_THREADPOOL_SIZE
// when it starts the pool, which its ESM loader does before bin/iscsi-sim.js runs.
t.test('serve starts its node with the thread pool sized (UV_THREADPOOL_SIZE in the environment it was started with)', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const given = process.env.UV_THREADPOOL_SIZE;
  delete process.env.UV_THREADPOOL_SIZE; // startSystem passes this process's environment on
  t.teardown(() => {
    if (given !== undefined) process.env.UV_THREADPOOL_SIZE = given;
  });
  const system = await startSystem({ luns: ['16M'] });
  t.teardown(() => system.stop());
  t.equal(environment(system.pid).get('UV_THREADPOOL_SIZE'), String(Math.min(16, Math.max(2, availableParallelism()))));
  t.ok(commandLine(system.pid).includes('serve'), 'the same pid, the same arguments');
});

t.test('a UV_THREADPOOL_SIZE given is kept', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const system = await startSystem({ luns: ['16M'], env: { UV_THREADPOOL_SIZE: '3' } });
  t.teardown(() => system.stop());
  t.equal(environment(system.pid).get('UV_THREADPOOL_SIZE'), '3');
});
