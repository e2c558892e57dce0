/** Fault rule validation: every bad rule is refused with a message naming the field. */
import t, { type Test } from 'tap';
import { faultRuleJson, validateFaultRule } from '../../../../src/scsi/faults/fault-rule.ts';

const LUN = { blocks: 2048 };

function refused(t: Test, input: Record<string, unknown>, pattern: RegExp, path = ''): void {
  t.throws(() => validateFaultRule(input, LUN, path), pattern, JSON.stringify(input));
}

t.test('valid rules in the flat JSON shape', async (t) => {
  const medium = validateFaultRule({ action: 'check-condition', sense: 'unrecovered-read-error', op: 'read', lba: '1000-1009' }, LUN);
  t.same(medium.match, { op: 'read', lba: { from: 1000, to: 1009 } });
  t.same(medium.action, { kind: 'check-condition', sense: { name: 'unrecovered-read-error', key: 3, asc: 0x11, ascq: 0 } });
  t.same(faultRuleJson(medium), { action: 'check-condition', sense: 'unrecovered-read-error', senseCodes: '0x03/0x11/0x00', op: 'read', lba: '1000-1009' });
  const raw = validateFaultRule({ action: 'check-condition', key: '0x4', asc: '0x44', ascq: 0, opcodes: ['0x28', 0x88], initiator: 'iqn.x:y' }, LUN);
  t.same(raw.action, { kind: 'check-condition', sense: { key: 4, asc: 0x44, ascq: 0 } });
  t.same(raw.match.opcodes, [0x28, 0x88]);
  const delay = validateFaultRule({ action: 'delay', delayMs: 50, jitterMs: 5, op: 'write', every: 2, afterCommands: 3, probability: 0.5, startAfterSeconds: 1, durationSeconds: 10, count: 7 }, LUN);
  t.same(delay.action, { kind: 'delay', delayMs: 50, jitterMs: 5 });
  t.same(delay.match, { op: 'write', afterCommands: 3, every: 2, probability: 0.5, startAfterSeconds: 1, durationSeconds: 10, count: 7 });
  t.same(validateFaultRule({ action: 'bad-blocks', lba: { from: 5, to: 6 } }, LUN).match, { op: 'read', lba: { from: 5, to: 6 } }, 'bad-blocks reads');
  t.same(validateFaultRule({ action: 'thin-exhaustion', limitBlocks: 100 }, LUN).action, { kind: 'thin-exhaustion', softThresholdBlocks: 80, limitBlocks: 100 });
  t.same(validateFaultRule({ action: 'busy', lba: 2047 }, LUN).match.lba, { from: 2047, to: 2047 }, 'the last LBA is fine');
});

t.test('bad rules name the field', async (t) => {
  refused(t, { action: 'check-condition', sense: 'medium-eror' }, /^sense: unknown sense name "medium-eror" \(known: .*unrecovered-read-error/);
  refused(t, { action: 'check-condition', sense: 'no-such' }, /^targets\[0\]\.luns\[0\]\.faults\[1\]\.sense: unknown/, 'targets[0].luns[0].faults[1]');
  refused(t, { action: 'check-condition' }, /^sense: is required/);
  refused(t, { action: 'check-condition', sense: 'read-error', asc: 1 }, /^asc: give either sense/);
  refused(t, { action: 'check-condition', key: 16, asc: 0, ascq: 0 }, /^key: 16 is not a number 0\.\.0xf/);
  refused(t, { action: 'explode' }, /^action: "explode" is not a fault action/);
  refused(t, { sense: 'read-error' }, /^action: is required/);
  refused(t, { action: 'busy', lba: 2048 }, /^lba: LBA 2048 is past the end of the LUN \(2048 blocks: 0-2047\)/);
  refused(t, { action: 'busy', lba: '20-10' }, /^lba: range 20-10 ends before it starts/);
  refused(t, { action: 'busy', lba: 'soon' }, /^lba: "soon" is not an LBA or range/);
  refused(t, { action: 'busy', probability: 0 }, /^probability: 0 is outside \(0, 1\]/);
  refused(t, { action: 'busy', probability: 1.5 }, /^probability: 1\.5 is outside/);
  refused(t, { action: 'busy', every: 0 }, /^every: 0 is outside 1\.\./);
  refused(t, { action: 'busy', count: 0 }, /^count: 0 is outside 1\.\./);
  refused(t, { action: 'busy', op: 'erase' }, /^op: "erase" is not read, write or any/);
  refused(t, { action: 'busy', opcodes: ['0x100'] }, /^opcodes: "0x100" is not an opcode/);
  refused(t, { action: 'busy', durationSeconds: 0 }, /^durationSeconds: 0 must be more than 0/);
  refused(t, { action: 'busy', delayMs: 5 }, /^delayMs: does not apply to action busy/);
  refused(t, { action: 'delay' }, /^delayMs: is required/);
  refused(t, { action: 'delay', delayMs: 0 }, /^delayMs: 0 is outside 1\.\.600000/);
  refused(t, { action: 'drop-writes', op: 'read' }, /^op: action drop-writes only applies to writes/);
  refused(t, { action: 'drop-writes', initiator: 'iqn.x:y' }, /^initiator: action drop-writes happens in the backstore/);
  refused(t, { action: 'bad-blocks' }, /^lba: is required for bad-blocks/);
  refused(t, { action: 'thin-exhaustion', limitBlocks: 10, softThresholdBlocks: 10 }, /^softThresholdBlocks: 10 must be below limitBlocks/);
  refused(t, { action: 'thin-exhaustion', limitBlocks: 4096 }, /^limitBlocks: 4096 is more than the LUN's 2048 blocks/);
  refused(t, { action: 'busy', colour: 'red' }, /^colour: unknown field/);
});
