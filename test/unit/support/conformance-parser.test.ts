import t from 'tap';
import { parseConformanceOutput } from '../../integration/support/conformance.ts';

const output = [
  'Suite: Read10',
  '  Test: BeyondEol ...passed',
  '  Test: Flags ...FAILED',
  '    1. test_read10_flags.c:80  - ret == 0',
  'Suite: WriteSame16',
  '  Test: Unmap ...    [SKIPPED] Logical unit is fully provisioned.',
  'passed',
  'Suite: iSCSIdatasn',
  '  Test: iSCSIDataSnInvalid ...    [FAILED] WRITE10 command failed with status 2 / sense key COMMAND ABORTED(0x0b)',
  '    [FAILED] WRITE10 command failed with status 2 / sense key COMMAND ABORTED(0x0b)',
  'passed',
  '',
  'Run Summary:    Type  Total    Ran Passed Failed Inactive',
].join('\n');

t.test('CUnit verdicts decide pass/fail; [SKIPPED] is a skip; [FAILED] logs are reported apart', async (t) => {
  const tests = parseConformanceOutput(output);
  t.same(
    tests.map((test) => [test.name, test.result, test.loggedFailure]),
    [
      ['Read10.BeyondEol', 'pass', false],
      ['Read10.Flags', 'fail', false],
      ['WriteSame16.Unmap', 'skip', false],
      ['iSCSIdatasn.iSCSIDataSnInvalid', 'pass', true],
    ],
  );
});
