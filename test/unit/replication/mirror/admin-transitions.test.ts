import t from 'tap';
import {
  afterHandover, autoResolve, doneIn, heldPhase, mayWriteWithoutRedis, planOperation, planResolve, sourceDuty, targetDuty,
  type AdminState, type PairOperation,
} from '../../../../src/replication/mirror/admin-transitions.ts';

const reachable = { sourceReachable: true, force: false };
const unreachable = { sourceReachable: false, force: false };
const forced = { sourceReachable: true, force: true };

t.test('failover: graceful when the source is reachable, unplanned (reversed at once, forced) otherwise', async (t) => {
  for (const admin of ['active', 'fractured', 'suspended'] as const) {
    t.same(planOperation(admin, 'failover', reachable), { kind: 'publish', admin: 'failing-over', reverse: false, forced: false }, `${admin}: drain first`);
    t.same(planOperation(admin, 'failover', unreachable), { kind: 'publish', admin: 'failed-over', reverse: true, forced: true }, `${admin}: source down`);
    t.same(planOperation(admin, 'failover', forced), { kind: 'publish', admin: 'failed-over', reverse: true, forced: true }, `${admin}: Force`);
  }
  t.same(planOperation('failing-over', 'failover', forced), { kind: 'publish', admin: 'failed-over', reverse: true, forced: true }, 'a stuck drain can be forced');
  t.match(planOperation('failed-over', 'failover', reachable), { kind: 'refuse', reason: /already failed over/ });
  t.match(planOperation('split-brain', 'failover', forced), { kind: 'refuse' });
});

t.test('failback and reverse roles', async (t) => {
  t.same(planOperation('failed-over', 'failback', reachable), { kind: 'publish', admin: 'failing-back', reverse: false, forced: false });
  t.match(planOperation('active', 'failback', reachable), { kind: 'refuse', reason: /needs a failed-over pair; the pair is active/ });
  t.match(planOperation('failing-back', 'failback', reachable), { kind: 'refuse', reason: /already running/ });
  t.same(planOperation('failed-over', 'reverse-roles', reachable), { kind: 'publish', admin: 'active', reverse: false, forced: false }, 'after failover: ship the new way');
  t.same(planOperation('active', 'reverse-roles', reachable), { kind: 'publish', admin: 'reversing', reverse: false, forced: false });
  t.match(planOperation('active', 'reverse-roles', unreachable), { kind: 'refuse', reason: /unreachable.*Failover/ });
  t.equal(afterHandover('failing-over'), 'failed-over');
  t.equal(afterHandover('failing-back'), 'active');
  t.equal(afterHandover('reversing'), 'active');
  t.equal(afterHandover('active'), undefined);
});

t.test('fracture, suspend, resume, resync, detach', async (t) => {
  const table: Array<[AdminState, PairOperation, AdminState | undefined]> = [
    ['active', 'fracture', 'fractured'], ['suspended', 'fracture', 'fractured'], ['fractured', 'fracture', undefined],
    ['active', 'suspend', 'suspended'], ['fractured', 'suspend', undefined],
    ['fractured', 'resume', 'active'], ['suspended', 'resume', 'active'], ['active', 'resume', undefined], ['failed-over', 'resume', undefined],
    ['active', 'resync', 'active'], ['fractured', 'resync', 'active'], ['failed-over', 'resync', undefined],
    ['active', 'detach', 'detached'], ['failed-over', 'detach', 'detached'], ['split-brain', 'detach', undefined],
  ];
  for (const [admin, operation, expected] of table) {
    const plan = planOperation(admin, operation, reachable);
    if (expected === undefined) t.equal(plan.kind, 'refuse', `${operation} from ${admin} is refused`);
    else t.match(plan, { kind: 'publish', admin: expected, reverse: false }, `${operation} from ${admin} → ${expected}`);
  }
  t.match(planOperation('split-brain', 'detach', forced), { kind: 'publish', admin: 'detached' }, 'split brain can be detached with Force (both sides kept)');
});

t.test('split brain resolution and policies', async (t) => {
  t.same(planResolve('split-brain', 'peer', 'peer', 'primary'), { kind: 'publish', admin: 'active', reverse: false, forced: false }, 'keep the source');
  t.same(planResolve('split-brain', 'primary', 'peer', 'primary'), { kind: 'publish', admin: 'active', reverse: true, forced: false }, 'keep the target: reversed');
  t.match(planResolve('split-brain', 'other', 'peer', 'primary'), { kind: 'refuse', reason: /not a member/ });
  t.match(planResolve('active', 'peer', 'peer', 'primary'), { kind: 'refuse', reason: /not in split brain/ });
  t.equal(autoResolve('manual', { a: 0, b: 5 }), undefined, 'manual by default');
  t.equal(autoResolve('discard-zero-changes', { a: 0, b: 5 }), 'b');
  t.equal(autoResolve('discard-zero-changes', { a: 3, b: 0 }), 'a');
  t.equal(autoResolve('discard-zero-changes', { a: 3, b: 5 }), undefined, 'both changed: the operator decides');
  t.equal(autoResolve('discard-least-changes', { a: 3, b: 5 }), 'b');
  t.equal(autoResolve('discard-least-changes', { a: 4, b: 4 }), undefined, 'a tie: the operator decides');
});

t.test('what each side does in each state', async (t) => {
  t.equal(sourceDuty('active'), 'ship');
  for (const admin of ['fractured', 'suspended', 'failed-over', 'split-brain'] as const) t.equal(sourceDuty(admin), 'hold', admin);
  for (const admin of ['failing-over', 'failing-back', 'reversing'] as const) t.equal(sourceDuty(admin), 'drain', `${admin}: fenced and draining`);
  t.equal(sourceDuty('detached'), undefined);
  t.equal(targetDuty('active'), 'apply');
  t.equal(targetDuty('failed-over'), 'apply');
  t.equal(targetDuty('suspended'), 'paused');
  t.equal(targetDuty('split-brain'), 'fenced', 'nothing applied in split brain');
  t.equal(targetDuty('detached'), 'released');
  for (const admin of ['active', 'fractured', 'suspended', 'failed-over'] as const) t.ok(mayWriteWithoutRedis(admin), `${admin}: a source may write without Redis`);
  for (const admin of ['failing-over', 'failing-back', 'reversing', 'split-brain'] as const) t.notOk(mayWriteWithoutRedis(admin), `${admin}: stays fenced until Redis says`);
});

t.test('the phase a holding state keeps, and the phase that completes an operation', async (t) => {
  for (const admin of ['fractured', 'suspended', 'failed-over'] as const) t.equal(heldPhase(admin), admin);
  t.equal(heldPhase('split-brain'), 'failed-over', 'split brain: the production side keeps writing and tracking');
  for (const admin of ['active', 'failing-over', 'failing-back', 'reversing', 'detached'] as const) t.equal(heldPhase(admin), undefined, admin);
  t.ok(doneIn('active', 'streaming'));
  t.notOk(doneIn('active', 'resyncing'), 'a resume is done once the resync finished');
  t.ok(doneIn('failed-over', 'failed-over'));
  t.ok(doneIn('fractured', 'fractured'));
  t.ok(doneIn('suspended', 'suspended'));
  t.notOk(doneIn('suspended', 'fractured'));
  t.ok(doneIn('split-brain', 'split-brain'));
  for (const admin of ['failing-over', 'failing-back', 'reversing', 'detached'] as const) t.notOk(doneIn(admin, 'streaming'), `${admin} is never an end state`);
});
