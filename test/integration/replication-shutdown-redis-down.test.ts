/**
 * A replicated system stops promptly on SIGTERM after its Redis is gone for good (the lab used to hide
 * a hang behind SIGKILL), and what it applied before stays on disk: the replica's journal and applied
 * position are closed properly, so the next start recovers from them.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { drRig, MiB, qemuIo } from './support/dr-rig.ts';
import { waitFor } from '../unit/replication/helpers.ts';

const STOP_BOUND_MS = 10_000;

t.test('SIGTERM with Redis killed: the replica system exits 0 within the bound', async (t) => {
  const rig = await drRig(t, { lunBytes: 16 * MiB });
  t.ok(qemuIo(rig.url(rig.primary), 'write -P 0x5a 0 1M').ok, 'a write on the primary');
  t.ok(await waitFor(async () => (await rig.report())?.status?.phase === 'streaming', 60_000), 'the pair streams');
  await rig.redis.kill();

  for (const system of [rig.peer, rig.primary]) {
    const started = Date.now();
    system.process.kill('SIGTERM');
    const code = await Promise.race([
      system.exited.then(() => system.process.exitCode),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), STOP_BOUND_MS).unref()),
    ]);
    const took = Date.now() - started;
    t.comment(`${system.name} stopped in ${took} ms with Redis down`);
    t.equal(code, 0, `${system.name} exits 0 within ${STOP_BOUND_MS} ms of SIGTERM with Redis down (took ${took} ms)`);
    if (code === 'hung') await system.kill();
    const failures = readFileSync(system.logPath, 'utf8').split('\n').filter((line) => /failed during shutdown/.test(line));
    t.same(failures, [], `${system.name}: every shutdown step (journals, dirty maps, backstores) completed`);
  }
});
