/** Rule matching: op, opcodes, LBA overlap, initiator, after N, every Nth, count, probability, time window; dm-dust healing. */
import t from 'tap';
import { validateFaultRule } from '../../../../src/scsi/faults/fault-rule.ts';
import { LunFaults, type FaultContext, type InjectedFault } from '../../../../src/scsi/faults/lun-faults.ts';

const LUN = { blocks: 2048 };
const READ = (lba: number, blocks = 1, initiator = 'iqn.a:1'): FaultContext => ({ kind: 'read', opcode: 0x28, lba, blocks, initiator });
const WRITE = (lba: number, blocks = 1): FaultContext => ({ kind: 'write', opcode: 0x2a, lba, blocks, initiator: 'iqn.a:1' });

function rig(rules: Array<Record<string, unknown>>, options: { now?: () => number; random?: () => number } = {}): { faults: LunFaults; fired: InjectedFault[] } {
  const faults = new LunFaults(options);
  const fired: InjectedFault[] = [];
  faults.onInjected = (fault) => fired.push(fault);
  rules.forEach((rule, index) => faults.add(`f${index + 1}`, validateFaultRule(rule, LUN)));
  return { faults, fired };
}

t.test('op, LBA overlap and the sense INFORMATION LBA', async (t) => {
  const { faults, fired } = rig([{ action: 'check-condition', sense: 'unrecovered-read-error', op: 'read', lba: '100-109' }]);
  t.equal(faults.decide(READ(90, 10)), undefined, 'ends before the range');
  t.equal(faults.decide(WRITE(100)), undefined, 'a write does not match op read');
  t.equal(faults.decide({ kind: undefined, opcode: 0x00 }), undefined, 'TEST UNIT READY has no LBA');
  t.match(faults.decide(READ(95, 10)), { action: { kind: 'check-condition' }, lba: 100, ruleId: 'f1' }, 'overlap: the first bad LBA');
  t.match(faults.decide(READ(109, 4)), { lba: 109 });
  t.equal(faults.decide(READ(110)), undefined);
  t.same(fired.map((f) => [f.action, f.lba]), [['check-condition', 100], ['check-condition', 109]]);
  t.equal(faults.list()[0]?.fired, 2);
});

t.test('initiator and opcodes', async (t) => {
  const { faults } = rig([{ action: 'busy', initiator: 'iqn.a:2', opcodes: [0x28] }]);
  t.equal(faults.decide(READ(0)), undefined, 'other initiator');
  t.match(faults.decide(READ(0, 1, 'iqn.a:2')), { action: { kind: 'busy' } });
  t.equal(faults.decide({ ...READ(0, 1, 'iqn.a:2'), opcode: 0x88 }), undefined, 'READ(16) not listed');
});

t.test('afterCommands, every, count', async (t) => {
  const { faults } = rig([{ action: 'task-set-full', afterCommands: 2, every: 3, count: 2 }]);
  const pattern = Array.from({ length: 14 }, () => (faults.decide(READ(0)) === undefined ? '.' : 'X')).join('');
  t.equal(pattern, '....X..X......', 'skips 2, then every 3rd, at most twice');
});

t.test('probability uses the injected random source', async (t) => {
  const values = [0.1, 0.9, 0.29, 0.3];
  const { faults } = rig([{ action: 'busy', probability: 0.3 }], { random: () => values.shift() ?? 1 });
  t.same([0, 1, 2, 3].map(() => faults.decide(READ(0)) !== undefined), [true, false, true, false]);
});

t.test('time window: from startAfterSeconds for durationSeconds after the rule was added', async (t) => {
  let now = 1_000_000;
  const { faults } = rig([{ action: 'busy', startAfterSeconds: 10, durationSeconds: 5 }], { now: () => now });
  t.equal(faults.decide(READ(0)), undefined, 'before the window');
  now += 10_000;
  t.ok(faults.decide(READ(0)), 'inside');
  now += 4_999;
  t.ok(faults.decide(READ(0)), 'still inside');
  now += 1;
  t.equal(faults.decide(READ(0)), undefined, 'after');
});

t.test('delays add up and the command goes on; a later rule still decides', async (t) => {
  const { faults } = rig([
    { action: 'delay', delayMs: 20, op: 'read' },
    { action: 'delay', delayMs: 5, jitterMs: 10, op: 'read' },
    { action: 'busy', lba: 7 },
  ], { random: () => 0.5 });
  t.same(faults.decide(READ(0)), { delayMs: 20 + 5 + 5 });
  t.match(faults.decide(READ(7)), { delayMs: 30, action: { kind: 'busy' } });
  t.same(faults.decide(WRITE(0)), undefined, 'writes not delayed');
});

t.test('bad blocks (dm-dust): reads fail until the block is rewritten', async (t) => {
  const { faults, fired } = rig([{ action: 'bad-blocks', lba: '10-12' }]);
  t.ok(faults.hasStorageRules);
  t.equal(faults.decide(READ(10)), undefined, 'not a SCSI-level rule');
  t.equal(faults.badBlockIn(0, 10), undefined);
  t.equal(faults.badBlockIn(5, 10), 10);
  faults.heal(10, 2);
  t.equal(faults.badBlockIn(5, 10), 12, 'blocks 10-11 rewritten: 12 is still bad');
  t.equal(faults.list()[0]?.badBlocksLeft, 1);
  faults.heal(12, 1);
  t.equal(faults.badBlockIn(0, 100), undefined, 'all healed');
  t.same(fired.map((f) => f.lba), [10, 12]);
});

t.test('drop-writes matches writes in its range only', async (t) => {
  const { faults } = rig([{ action: 'drop-writes', lba: '100-199', every: 2 }]);
  t.equal(faults.dropsWrite(0, 10), false);
  t.equal(faults.dropsWrite(150, 1), false, 'first match, every 2nd');
  t.equal(faults.dropsWrite(150, 1), true);
});

t.test('thin exhaustion: UA once at the soft threshold, then SPACE ALLOCATION FAILED', async (t) => {
  const { faults, fired } = rig([{ action: 'thin-exhaustion', softThresholdBlocks: 8, limitBlocks: 10 }]);
  t.equal(faults.decide(WRITE(0, 4)), undefined);
  t.same(faults.decide(WRITE(4, 4)), { delayMs: 0, unitAttention: 'thin-provisioning-soft-threshold-reached' });
  t.equal(faults.decide(WRITE(8, 2)), undefined, 'at the limit, not past it');
  t.match(faults.decide(WRITE(10, 1)), { action: { kind: 'space-exhausted' } });
  t.equal(faults.decide(READ(0)), undefined, 'reads still work');
  t.same(fired.map((f) => f.action), ['thin-soft-threshold', 'thin-exhaustion']);
});

t.test('remove and clear', async (t) => {
  const { faults } = rig([{ action: 'busy' }, { action: 'task-set-full' }]);
  t.ok(faults.remove('f1'));
  t.notOk(faults.remove('f1'));
  t.match(faults.decide(READ(0)), { action: { kind: 'task-set-full' } });
  t.equal(faults.clear(), 1);
  t.notOk(faults.active);
});
