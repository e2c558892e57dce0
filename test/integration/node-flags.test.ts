/**
 * bin/iscsi-sim.js runs node with the hot path's V8 flags (--single-threaded-gc) by replacing itself
 * (execve): the process started is the process serving (same pid, so kill and supervisors still
 * work), its stdout and stderr stay connected, and ISCSI_SIM_NODE_FLAGS=keep leaves node as started.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { startSystem } from './support/system-process.ts';

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
