/**
 * Every operator action of the replication engine on two systems sharing an in-memory store (no
 * Redis, no sleeps): create (attach), fracture, suspend, resume, resync, detach, failover (planned and
 * forced), failback, reverse roles (active and failed over), split-brain resolution (by hand and by
 * each policy), Reset To Sync/Async, online verify, and the refusals.
 */
import t, { type Test } from 'tap';
import { pattern, sha256Of } from './helpers.ts';
import { engineRig, GRAIN, MiB, SIZE, type EngineRig } from './engine-rig.ts';

/** The kind and message an engine call was refused with ('done' when it was not refused). */
async function refusal(call: Promise<unknown>): Promise<string> {
  return call.then(() => 'done', (err: Error & { kind?: string }) => `${err.kind ?? 'error'}: ${err.message}`);
}

async function same(rig: EngineRig): Promise<boolean> {
  return (await sha256Of(rig.primary.backstore)) === (await sha256Of(rig.peer.backstore));
}

t.test('create (attach): initial sync, replica write protected, then streaming', async (t) => {
  const rig = await engineRig(t);
  await rig.primary.backstore.write(MiB, [pattern(MiB, 1)], { fua: false });
  const pairId = await rig.mirror();
  t.equal(rig.primary.engine.entry(pairId)?.admin, 'active');
  t.equal(rig.peer.lun.writeProtected, true, 'the target LUN is write protected');
  t.equal(rig.primary.lun.writeProtected, false, 'the source LUN takes writes');
  t.ok(await same(rig), 'initial sync copied the data');
  await rig.primary.backstore.write(3 * MiB, [pattern(GRAIN, 2)], { fua: true });
  t.ok(await rig.primary.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(await same(rig), 'streaming');
  rig.tick();
  await rig.until(() => rig.peer.engine.status(pairId)?.role === 'target' && rig.peer.engine.status(pairId)?.phase === 'streaming', 'the peer reads the published status');
  t.equal(rig.peer.engine.status(pairId)?.phase, 'streaming', 'the peer sees the source\'s status');
});

t.test('create refusals: no such LUN here, target on this system, unknown target LUN, LUN already mirrored, unknown pair', async (t) => {
  const rig = await engineRig(t);
  const engine = rig.primary.engine;
  const target = { system: 'peer', targetIqn: rig.peer.lun.targetIqn, lun: 0, naa: rig.peer.lun.naa };
  await rig.until(async () => (await engine.findFreeRemoteVolume(SIZE)) !== undefined, 'peer volume registered');
  t.match(await refusal(engine.createMirror({ source: { targetIqn: rig.primary.lun.targetIqn, lun: 7 }, target, mode: 'async' })), /^invalid: no LUN 7/);
  await t.rejects(engine.createMirror({ source: { targetIqn: rig.primary.lun.targetIqn, lun: 0 }, target: { ...target, system: 'primary' }, mode: 'async' }), /another system/);
  await t.rejects(engine.createMirror({ source: { targetIqn: rig.primary.lun.targetIqn, lun: 0 }, target: { ...target, system: 'nowhere' }, mode: 'async' }), /no such LUN/);
  const pairId = await rig.mirror();
  t.match(await refusal(engine.createMirror({ source: { targetIqn: rig.primary.lun.targetIqn, lun: 0 }, target, mode: 'async' })), new RegExp(`^in-use: .*${pairId}`));
  t.match(await refusal(engine.modify('m-none', 'fracture')), /^invalid: no mirror m-none/);
});

t.test('fracture (12/21): tracked, not shipped; resume (16) ships only the dirty grains', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  const fractured = await rig.peer.engine.modify(pairId, 'fracture'); // valid from either system
  t.equal(fractured.admin, 'fractured');
  await rig.until(() => rig.phaseOf(rig.primary, pairId) === 'fractured', 'source fractured');
  await rig.primary.backstore.write(2 * MiB, [pattern(4096, 3)], { fua: false });
  t.equal(rig.primary.engine.status(pairId)?.dirtyGrains, 1);
  t.notOk(await same(rig), 'replica left behind');
  t.equal(rig.peer.lun.writeProtected, true, 'the target stays protected');
  const before = rig.primary.engine.status(pairId)!.bytesResynced;
  const resumed = await rig.primary.engine.modify(pairId, 'resume');
  t.equal(resumed.admin, 'active');
  await rig.primary.engine.waitOperation(resumed, 10_000);
  t.ok(await rig.primary.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(rig.primary.engine.status(pairId)!.bytesResynced - before <= 2 * GRAIN, 'only the dirty grain travelled');
  t.ok(await same(rig));
  t.match(await refusal(rig.primary.engine.modify(pairId, 'resume')), /^state: resume needs a fractured or suspended pair/);
});

t.test('suspend (22): the target pauses applying; fracture from suspended; resume', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  await rig.primary.engine.modify(pairId, 'suspend');
  await rig.until(() => rig.phaseOf(rig.primary, pairId) === 'suspended', 'source suspended');
  await rig.until(() => rig.peer.engine.entry(pairId)?.admin === 'suspended', 'peer learned it');
  t.equal(rig.peer.engine.replicaPair(pairId)?.running, true, 'the applier keeps running (paused)');
  t.equal(rig.peer.lun.writeProtected, true);
  await t.rejects(rig.primary.engine.modify(pairId, 'suspend'), /suspend needs an active pair/);
  await rig.primary.engine.modify(pairId, 'fracture');
  await rig.until(() => rig.phaseOf(rig.primary, pairId) === 'fractured', 'fractured from suspended');
  await rig.primary.backstore.write(0, [pattern(4096, 4)], { fua: false });
  const resumed = await rig.primary.engine.modify(pairId, 'resume');
  await rig.primary.engine.waitOperation(resumed, 10_000);
  t.ok(await rig.primary.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(await same(rig));
});

t.test('resync (14): from active, fractured and suspended back to a streaming pair', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  for (const from of ['active', 'fractured', 'suspended'] as const) {
    if (from !== 'active') {
      await rig.primary.engine.modify(pairId, from === 'fractured' ? 'fracture' : 'suspend');
      await rig.until(() => rig.phaseOf(rig.primary, pairId) === from, from);
    }
    await rig.primary.backstore.write(GRAIN * 5, [pattern(4096, 5)], { fua: false });
    const published = await rig.primary.engine.modify(pairId, 'resync');
    t.equal(published.admin, 'active', `resync from ${from}`);
    await rig.primary.engine.waitOperation(published, 10_000);
    t.ok(await rig.primary.engine.sourcePair(pairId)!.drained(10_000));
    t.ok(await same(rig), `in sync after resync from ${from}`);
  }
});

t.test('detach (8/9): both LUNs writable, the pair forgotten on both systems', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  const published = await rig.peer.engine.modify(pairId, 'detach');
  t.equal(published.admin, 'detached');
  await rig.until(() => rig.primary.engine.pairs().length === 0 && rig.peer.engine.pairs().length === 0, 'forgotten');
  t.equal(rig.peer.lun.writeProtected, false, 'the old target is writable');
  t.equal(rig.primary.lun.writeProtected, false);
  t.equal(rig.primary.engine.sourcePair(pairId), undefined);
  t.equal(rig.peer.engine.replicaPair(pairId), undefined);
  t.match(await refusal(rig.primary.engine.modify(pairId, 'resume')), /^invalid: no mirror/);
  // The LUNs are free again: a new pair can use them.
  const again = await rig.mirror();
  t.not(again, pairId);
});

t.test('failover (10) planned, then failback (11): drain, reverse, the DR changes come home', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  rig.tick(); // the source publishes its status: reachable
  await rig.primary.backstore.write(GRAIN * 9, [pattern(4096, 6)], { fua: false });
  const failingOver = await rig.peer.engine.modify(pairId, 'failover');
  t.equal(failingOver.admin, 'failing-over', 'the reachable source drains first');
  await rig.peer.engine.waitOperation(failingOver, 10_000);
  const entry = rig.peer.engine.entry(pairId)!;
  t.equal(entry.admin, 'failed-over');
  t.equal(entry.record.source.system, 'peer', 'the record is reversed');
  t.equal(entry.generation, 2, 'new data generation');
  t.equal(entry.lastTransfer?.operation, 'failover');
  t.equal(rig.peer.lun.writeProtected, false, 'the DR site is writable');
  t.equal(rig.primary.lun.writeProtected, true, 'the old source is fenced');
  t.equal(rig.peer.engine.status(pairId)?.phase, 'failed-over');
  t.ok(await same(rig), 'the drain shipped what the old source had');
  await t.rejects(rig.peer.engine.modify(pairId, 'failover'), /already failed over/);

  await rig.peer.backstore.write(GRAIN * 11, [pattern(4096, 7)], { fua: false });
  const failingBack = await rig.primary.engine.modify(pairId, 'failback');
  t.equal(failingBack.admin, 'failing-back');
  await rig.primary.engine.waitOperation(failingBack, 10_000);
  const back = rig.primary.engine.entry(pairId)!;
  t.equal(back.admin, 'active');
  t.equal(back.record.source.system, 'primary', 'reversed back');
  t.equal(back.lastTransfer?.operation, 'failback');
  t.equal(back.lastTransfer?.grains, 1, 'one grain changed at the DR site');
  t.equal(rig.primary.lun.writeProtected, false);
  t.equal(rig.peer.lun.writeProtected, true);
  t.ok(await same(rig), 'the DR write came home');
  await t.rejects(rig.primary.engine.modify(pairId, 'failback'), /failback needs a failed-over pair/);
});

t.test('reverse roles (20) from active, and from failed-over (ship the reversed way)', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  rig.tick();
  const reversing = await rig.primary.engine.modify(pairId, 'reverse-roles');
  t.equal(reversing.admin, 'reversing');
  await rig.primary.engine.waitOperation(reversing, 10_000);
  t.equal(rig.peer.engine.entry(pairId)?.record.source.system, 'peer');
  t.equal(rig.peer.engine.entry(pairId)?.lastTransfer?.operation, 'reverse roles');
  await rig.until(() => rig.phaseOf(rig.peer, pairId) === 'streaming' && rig.primary.lun.writeProtected, 'peer streams');
  await rig.peer.backstore.write(MiB, [pattern(GRAIN, 8)], { fua: false });
  t.ok(await rig.peer.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(await same(rig), 'writes flow peer → primary');

  rig.tick();
  const failingOver = await rig.primary.engine.modify(pairId, 'failover'); // back to primary as DR production
  await rig.primary.engine.waitOperation(failingOver, 10_000);
  t.equal(rig.primary.engine.entry(pairId)?.admin, 'failed-over');
  const reversed = await rig.primary.engine.modify(pairId, 'reverse-roles');
  t.equal(reversed.admin, 'active', 'after a failover, reverse roles = ship that way for good');
  await rig.primary.engine.waitOperation(reversed, 10_000);
  await rig.primary.backstore.write(2 * MiB, [pattern(GRAIN, 9)], { fua: false });
  t.ok(await rig.primary.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(await same(rig));
});

/** Cuts the primary off the store and lets its published status expire: the peer sees it as unreachable. */
async function partitionPrimary(rig: EngineRig): Promise<void> {
  rig.primary.link.disconnect();
  rig.tick(11); // the status key expires after 10 s
}

t.test('failover forced while the source is unreachable; it comes back without changes: plain target', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  await partitionPrimary(rig);
  const forced = await rig.peer.engine.modify(pairId, 'failover');
  t.equal(forced.admin, 'failed-over', 'unreachable source: reversed at once');
  t.equal(forced.fenced, 'primary', 'the old writer must check its changes when it returns');
  await rig.until(() => !rig.peer.lun.writeProtected, 'DR site writable');
  rig.primary.link.reconnect();
  rig.tick();
  await rig.until(() => rig.peer.engine.entry(pairId)?.fenced === undefined && rig.primary.lun.writeProtected, 'fence cleared');
  t.equal(rig.peer.engine.entry(pairId)?.admin, 'failed-over', 'no split brain: nothing was written');
});

/** A pair, then a forced failover while the primary is cut off, both sides writing: the primary reconnects. */
async function splitBrain(t: Test, rig: EngineRig, primaryGrains: number, peerGrains: number): Promise<string> {
  const pairId = await rig.mirror();
  await partitionPrimary(rig);
  for (let i = 0; i < primaryGrains; i++) await rig.primary.backstore.write(i * GRAIN, [pattern(4096, i)], { fua: false });
  const forced = await rig.peer.engine.modify(pairId, 'failover', true);
  t.equal(forced.admin, 'failed-over');
  await rig.until(() => !rig.peer.lun.writeProtected, 'DR site writable');
  for (let i = 0; i < peerGrains; i++) await rig.peer.backstore.write((32 + i) * GRAIN, [pattern(4096, 100 + i)], { fua: false });
  rig.primary.link.reconnect();
  rig.tick();
  return pairId;
}

t.test('split brain (manual policy): detected with both counts; detach refused without Force; resolve keeping the DR site', async (t) => {
  const rig = await engineRig(t);
  const pairId = await splitBrain(t, rig, 2, 1);
  await rig.until(() => Object.keys(rig.peer.engine.entry(pairId)?.splitBrain?.changes ?? {}).length === 2, 'both sides counted');
  t.same(rig.peer.engine.entry(pairId)?.splitBrain?.changes, { primary: 2, peer: 1 });
  t.equal(rig.peer.engine.status(pairId)?.phase, 'split-brain');
  t.equal(rig.primary.lun.writeProtected, true, 'the fenced side takes no more writes');
  await t.rejects(rig.peer.engine.modify(pairId, 'detach'), /split brain: resolve it first/);
  await t.rejects(rig.peer.engine.resolve(pairId, 'nowhere'), /not a member/);
  const resolved = await rig.peer.engine.resolve(pairId, 'peer');
  t.equal(resolved.admin, 'active');
  await rig.peer.engine.waitOperation(resolved, 10_000);
  t.equal(rig.peer.engine.entry(pairId)?.splitBrain, undefined, 'report cleared');
  t.ok(await rig.peer.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(await same(rig), 'the primary\'s own changes were overwritten from the DR site');
  await t.rejects(rig.peer.engine.resolve(pairId, 'peer'), /not in split brain/);
});

t.test('split brain resolved keeping the old writer: the record reverses back to it', async (t) => {
  const rig = await engineRig(t);
  const pairId = await splitBrain(t, rig, 1, 2);
  await rig.until(() => rig.peer.engine.entry(pairId)?.admin === 'split-brain' && Object.keys(rig.peer.engine.entry(pairId)?.splitBrain?.changes ?? {}).length === 2, 'split brain');
  const resolved = await rig.primary.engine.resolve(pairId, 'primary');
  t.equal(resolved.record.source.system, 'primary');
  await rig.primary.engine.waitOperation(resolved, 10_000);
  // The DR site hands its changed grains over as it becomes the target; the primary takes them.
  await rig.until(() => rig.peer.engine.replicaPair(pairId)?.running === true && rig.store.keys(`iscsi-sim:{${pairId}}:handover-grains`).length === 0, 'hand-over taken');
  t.ok(await rig.primary.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(await same(rig), 'the DR site\'s changes were overwritten from the primary');
});

t.test('split brain: Force detach keeps both sides as they are', async (t) => {
  const rig = await engineRig(t);
  const pairId = await splitBrain(t, rig, 1, 1);
  // Detach as soon as the new source sees the fenced writer's report, while it may be adding its own
  // count: whichever write lands first, the detach is not overwritten (every publish is a compare-and-set).
  await rig.until(() => rig.peer.engine.entry(pairId)?.admin === 'split-brain', 'split brain reported by the fenced writer');
  await rig.peer.engine.modify(pairId, 'detach', true);
  await rig.until(() => !rig.primary.lun.writeProtected && !rig.peer.lun.writeProtected, 'both writable');
  const stored = JSON.parse(String(rig.store.live(`iscsi-sim:{${pairId}}:config`)?.data)) as { admin: string };
  t.equal(stored.admin, 'detached', 'the detach stands');
});

for (const [policy, primaryGrains, peerGrains, keep] of [
  ['discard-zero-changes', 0, 2, undefined],
  ['discard-least-changes', 1, 3, 'peer'],
  ['discard-least-changes', 3, 1, 'primary'],
] as const) {
  t.test(`split-brain policy ${policy} (primary ${primaryGrains}, peer ${peerGrains} grains)`, async (t) => {
    const rig = await engineRig(t);
    const pairId = await rig.mirror();
    const set = await rig.primary.engine.setSplitBrainPolicy(pairId, policy);
    t.equal(set.splitBrainPolicy, policy);
    await partitionPrimary(rig);
    for (let i = 0; i < primaryGrains; i++) await rig.primary.backstore.write(i * GRAIN, [pattern(4096, i)], { fua: false });
    await rig.peer.engine.modify(pairId, 'failover', true);
    await rig.until(() => !rig.peer.lun.writeProtected, 'DR site writable');
    for (let i = 0; i < peerGrains; i++) await rig.peer.backstore.write((32 + i) * GRAIN, [pattern(4096, 100 + i)], { fua: false });
    rig.primary.link.reconnect();
    rig.tick();
    if (keep === undefined) {
      // The old writer changed nothing: no split brain at all, it just becomes the target.
      await rig.until(() => rig.peer.engine.entry(pairId)?.fenced === undefined, 'fence cleared');
      t.equal(rig.peer.engine.entry(pairId)?.admin, 'failed-over');
      return;
    }
    const settled = (): boolean => {
      const [onPeer, onPrimary] = [rig.peer.engine.entry(pairId), rig.primary.engine.entry(pairId)];
      return onPeer?.admin === 'active' && onPrimary?.admin === 'active' && onPeer.revision === onPrimary.revision;
    };
    await rig.until(settled, 'resolved by the policy, seen by both systems');
    const entry = rig.peer.engine.entry(pairId)!;
    t.equal(entry.record.source.system, keep, `${keep} kept`);
    const source = keep === 'peer' ? rig.peer : rig.primary;
    await rig.until(() => source.engine.sourcePair(pairId)?.phase === 'streaming', 'streaming again');
    t.ok(await source.engine.sourcePair(pairId)!.drained(10_000));
    t.ok(await same(rig));
  });
}

t.test('split brain with the manual policy and equal counts is left to the operator', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  await rig.primary.engine.setSplitBrainPolicy(pairId, 'discard-least-changes');
  await partitionPrimary(rig);
  await rig.primary.backstore.write(0, [pattern(4096, 1)], { fua: false });
  await rig.peer.engine.modify(pairId, 'failover', true);
  await rig.until(() => !rig.peer.lun.writeProtected, 'DR site writable');
  await rig.peer.backstore.write(40 * GRAIN, [pattern(4096, 2)], { fua: false });
  rig.primary.link.reconnect();
  rig.tick();
  await rig.until(() => Object.keys(rig.peer.engine.entry(pairId)?.splitBrain?.changes ?? {}).length === 2, 'counted');
  rig.tick();
  t.equal(rig.peer.engine.entry(pairId)?.admin, 'split-brain', 'a tie: the operator decides');
});

t.test('Reset To Sync / Reset To Async (17/18): same pair, same state, new mode', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  await rig.peer.engine.setMode(pairId, 'sync');
  await rig.until(() => rig.primary.engine.status(pairId)?.record.mode === 'sync', 'the source runs in sync mode');
  rig.peer.engine.replicaPair(pairId)!.pause();
  let done = false;
  const write = rig.primary.backstore.write(0, [pattern(4096, 1)], { fua: false }).then(() => { done = true; });
  await rig.until(() => (rig.primary.engine.status(pairId)?.epochsBehind ?? 0) > 0, 'shipped');
  t.equal(done, false, 'sync: the write waits for the replica');
  rig.peer.engine.replicaPair(pairId)!.resume();
  await write;
  await rig.primary.engine.setMode(pairId, 'async');
  await rig.until(() => rig.primary.engine.status(pairId)?.record.mode === 'async', 'async again');
  rig.peer.engine.replicaPair(pairId)!.pause();
  await rig.primary.backstore.write(GRAIN, [pattern(4096, 2)], { fua: false });
  t.pass('async: the write completed with the replica paused');
  rig.peer.engine.replicaPair(pairId)!.resume();
  t.equal(rig.primary.engine.entry(pairId)?.admin, 'active');
});

t.test('online verify: equal, then a divergent chunk found and repaired', async (t) => {
  const rig = await engineRig(t);
  await rig.primary.backstore.write(0, [pattern(MiB, 1)], { fua: false });
  const pairId = await rig.mirror();
  const clean = await rig.primary.engine.verify(pairId, { chunkBytes: 256 * 1024 });
  t.equal(clean.divergent.length, 0);
  t.equal(clean.chunks, SIZE / (256 * 1024));
  await rig.peer.backstore.write(MiB + 512, [pattern(512, 9)], { fua: true }); // behind the replica's back
  const report = await rig.primary.engine.verify(pairId, { chunkBytes: 256 * 1024, repair: true });
  t.same(report.divergent, [{ offset: MiB, length: 256 * 1024 }]);
  t.equal(report.repaired, true);
  await rig.until(() => rig.phaseOf(rig.primary, pairId) === 'streaming', 'repair resync done');
  t.ok(await rig.primary.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(await same(rig), 'repaired');
  await t.rejects(rig.peer.engine.verify(pairId), /no source on this system/);
});

t.test('the store unreachable at restart: an active source writes and tracks from its local record, then streams again', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  rig.primary.link.disconnect();
  await rig.primary.restart();
  rig.primary.link.disconnect(); // the new connection cannot reach the store either
  await rig.primary.restart();
  await rig.until(() => !rig.primary.lun.writeProtected, 'active source writes without the store');
  await rig.primary.backstore.write(0, [pattern(4096, 1)], { fua: false });
  t.equal(rig.primary.engine.status(pairId)?.dirtyGrains, 1, 'tracked');
  rig.primary.link.reconnect();
  rig.tick();
  await rig.until(() => rig.phaseOf(rig.primary, pairId) === 'streaming', 'streaming again');
  t.ok(await rig.primary.engine.sourcePair(pairId)!.drained(10_000));
  t.ok(await same(rig));
});
