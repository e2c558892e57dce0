/** `iscsi-sim fault add`: flags become the rule's fields; the system's field names come back as the flags typed. */
import t from 'tap';
import { inFlagTerms, ruleFromFlags } from '../../../../src/cli/commands/fault.ts';

t.test('flags → rule fields', async (t) => {
  t.same(ruleFromFlags('delay', { delayMs: '50', jitterMs: '5', op: 'write', after: '3', startAfter: '1', duration: '9', softThreshold: '1' }), {
    action: 'delay', delayMs: '50', jitterMs: '5', op: 'write', afterCommands: '3', startAfterSeconds: '1', durationSeconds: '9', softThresholdBlocks: '1',
  });
  t.same(ruleFromFlags('busy', {}), { action: 'busy' });
});

t.test('field names in errors → flags', async (t) => {
  t.equal(inFlagTerms('lba: LBA 9 is past the end'), '--lba: LBA 9 is past the end');
  t.equal(inFlagTerms('afterCommands: -1 is outside 0..'), '--after: -1 is outside 0..');
  t.equal(inFlagTerms('lba.from: "x" is not a whole number'), '--lba.from: "x" is not a whole number');
  t.equal(inFlagTerms('delayMs: is required'), '--delay-ms: is required');
  t.equal(inFlagTerms('something else'), 'something else');
});
