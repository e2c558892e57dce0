/**
 * The source side's phases over the in-memory transport (no Redis, no sleeps): initial sync →
 * streaming; streaming → ahead (link loss, stalled replica, in-flight bound); ahead → resyncing →
 * streaming; held phases (fractured, suspended, failed-over, detached) and resume; restarts.
 */
import t from 'tap';
import { pattern, sha256Of } from '../helpers.ts';
import { GRAIN, KiB, sourceRig } from './source-rig.ts';

t.test('initial sync → streaming: the replica gets the allocated data and the holes', async (t) => {
  const rig = await sourceRig(t);
  await rig.source.write(0, [pattern(3 * GRAIN, 1)], { fua: false });
  await rig.source.write(10 * GRAIN, [pattern(GRAIN, 2)], { fua: false });
  const pair = rig.pair();
  await pair.start(true);
  t.equal(pair.phase, 'initial-sync', 'a new pair starts in initial sync');
  await rig.reaches(pair, 'streaming');
  t.same(rig.phases, ['streaming']);
  t.ok(await rig.converged(pair), 'replica = source');
  const status = pair.status();
  t.equal(status.percentSynced, 100);
  t.equal(status.replicaConsistent, true);
  t.ok(status.whenSynced, 'WhenSynced set');
});

t.test('streaming: writes ship in epochs and are acknowledged', async (t) => {
  const rig = await sourceRig(t);
  const pair = await rig.streaming();
  for (let i = 0; i < 10; i++) await rig.source.write(i * 8 * KiB, [pattern(4 * KiB, i)], { fua: i === 9 });
  t.ok(await rig.converged(pair), 'replica = source');
  const status = pair.status();
  t.ok(status.lastShippedEpoch > 0 && status.lastAppliedEpoch === status.lastShippedEpoch, 'every shipped epoch applied');
  t.equal(status.epochsBehind, 0);
});

t.test('streaming → ahead on link loss (writes never wait); ahead → resyncing → streaming on the next probe', async (t) => {
  const rig = await sourceRig(t);
  const pair = await rig.streaming();
  rig.sourceLink.disconnect();
  await rig.writeSealed(pair, 0, 8 * KiB);
  await rig.reaches(pair, 'ahead');
  await rig.source.write(5 * GRAIN, [pattern(8 * KiB, 8)], { fua: true });
  t.equal(pair.status().dirtyGrains, 2, 'ahead: only the dirty map, two grains');
  t.equal(pair.status().replicaConsistent, true, 'ahead without a resync running: the replica is an older consistent image');
  rig.clock.advance(100); // probe while the link is still down: stays ahead
  t.equal(pair.phase, 'ahead');
  rig.sourceLink.reconnect();
  rig.clock.advance(100); // the applier's heartbeat, then the source's probe finds the link up
  await rig.reaches(pair, 'streaming');
  t.same(rig.phases.slice(-3), ['ahead', 'resyncing', 'streaming']);
  t.ok(await rig.converged(pair), 'the resync shipped what the replica lacked');
});

t.test('streaming → ahead when the replica makes no progress for stallTimeoutMs', async (t) => {
  const rig = await sourceRig(t);
  const pair = await rig.streaming();
  rig.applier.pause();
  await rig.writeSealed(pair, 0, 4 * KiB);
  await rig.store.until(() => pair.status().epochsBehind > 0, 5000, 'epoch shipped');
  rig.clock.advance(900);
  t.equal(pair.phase, 'streaming', 'not yet: below the stall timeout');
  rig.clock.advance(300);
  t.equal(pair.phase, 'ahead', 'stalled replica: ahead');
});

t.test('streaming → ahead when an epoch would exceed the in-flight bound', async (t) => {
  const rig = await sourceRig(t, { maxInFlightBytes: 16 * KiB });
  const pair = await rig.streaming();
  rig.applier.pause();
  await rig.writeSealed(pair, 0, 32 * KiB);
  await rig.reaches(pair, 'ahead');
  t.ok(pair.status().dirtyGrains >= 1, 'the grains wait in the dirty map');
});

for (const held of ['fractured', 'suspended', 'failed-over', 'detached'] as const) {
  t.test(`${held}: writes are tracked, nothing ships; resume → resyncing → streaming`, async (t) => {
    const rig = await sourceRig(t);
    const pair = await rig.streaming();
    const shipped = rig.store.jobLog.length;
    pair.hold(held);
    t.equal(pair.phase, held);
    await rig.source.write(3 * GRAIN, [pattern(8 * KiB, 5)], { fua: true });
    t.equal(rig.store.jobLog.length, shipped, 'nothing shipped while held');
    t.equal(pair.status().dirtyGrains, 1, 'the write is tracked');
    t.equal(pair.status().replicaConsistent, false);
    rig.clock.advance(500);
    t.equal(pair.phase, held, 'the watchdog does not resume a held pair');
    await pair.resume();
    await rig.reaches(pair, 'streaming');
    t.same(rig.phases.slice(-3), [held, 'resyncing', 'streaming']);
    t.ok(await rig.converged(pair), 'replica = source');
  });
}

t.test('restart: a held phase survives; a plain restart resyncs what the dirty map kept', async (t) => {
  const rig = await sourceRig(t);
  const first = rig.pair();
  await first.start(true);
  await rig.reaches(first, 'streaming');
  first.hold('fractured');
  await rig.source.write(GRAIN, [pattern(4 * KiB, 6)], { fua: true });
  await first.close();
  const fractured = rig.pair({ initialPhase: 'fractured' });
  await fractured.start(false);
  t.equal(fractured.phase, 'fractured', 'an operator fracture survives the restart');
  t.ok(fractured.status().dirtyGrains >= 1, 'with its dirty grains (the activity log keeps whole extents across a restart)');
  await fractured.close();
  const again = rig.pair();
  const seen = rig.phases.length;
  await again.start(false);
  await rig.reaches(again, 'streaming');
  t.same(rig.phases.slice(seen), ['resyncing', 'streaming'], 'a restarted pair resyncs (no full initial sync)');
  t.ok(await rig.converged(again), 'replica = source');
});

t.test('resyncGrains (verify repair, hand-over): streaming → resyncing → streaming', async (t) => {
  const rig = await sourceRig(t);
  const pair = await rig.streaming();
  await rig.replica.write(4 * GRAIN, [pattern(GRAIN, 9)], { fua: true }); // the replica diverged
  t.not(await sha256Of(rig.replica), await sha256Of(rig.source));
  await pair.resyncGrains([4]);
  await rig.reaches(pair, 'streaming');
  t.same(rig.phases.slice(-2), ['resyncing', 'streaming']);
  t.ok(await rig.converged(pair), 'replica = source');
});

t.test('sync mode: a write completes once the replica recorded it; going ahead releases waiting writes', async (t) => {
  const rig = await sourceRig(t);
  const pair = await rig.streaming({ mode: 'sync' });
  await rig.source.write(0, [pattern(4 * KiB, 1)], { fua: false });
  t.equal(pair.status().epochsBehind, 0, 'acknowledged only after the replica applied it');
  rig.applier.pause();
  let done = false;
  const write = rig.source.write(GRAIN, [pattern(4 * KiB, 2)], { fua: false }).then(() => { done = true; });
  await rig.store.until(() => pair.status().epochsBehind > 0, 5000, 'epoch shipped');
  t.equal(done, false, 'the write waits for the replica');
  rig.clock.advance(600); // syncTimeoutMs 500: the pair goes ahead, the write completes
  await write;
  t.equal(pair.phase, 'ahead');
});
