/** Bundled expectations on SCSI responses, like libiscsi's EXPECT_* macros. */
import type { Test } from 'tap';
import type { ScsiResponse } from '../../../../src/scsi/command.ts';

type Asserter = Pick<Test, 'equal'>;

function senseOf(t: Asserter, response: ScsiResponse): { key: number; asc: number; ascq: number } {
  t.equal(response.status, 0x02, 'CHECK CONDITION');
  const sense = response.sense ?? Buffer.alloc(18);
  t.equal(sense[0] & 0x7f, 0x70, 'fixed-format sense');
  return { key: sense[2] & 0x0f, asc: sense[12], ascq: sense[13] };
}

function expectSense(key: number, asc: number, ascq: number, label: string) {
  return (t: Asserter, response: ScsiResponse): void => {
    const got = senseOf(t, response);
    t.equal(`${got.key}/${got.asc.toString(16)}/${got.ascq.toString(16)}`, `${key}/${asc.toString(16)}/${ascq.toString(16)}`, label);
  };
}

export const expectSenseOf = {
  lbaOutOfRange: expectSense(0x5, 0x21, 0x00, 'ILLEGAL REQUEST / LBA OUT OF RANGE'),
  invalidFieldInCdb: expectSense(0x5, 0x24, 0x00, 'ILLEGAL REQUEST / INVALID FIELD IN CDB'),
  invalidFieldInParameterList: expectSense(0x5, 0x26, 0x00, 'ILLEGAL REQUEST / INVALID FIELD IN PARAMETER LIST'),
  invalidOpcode: expectSense(0x5, 0x20, 0x00, 'ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE'),
  lunNotSupported: expectSense(0x5, 0x25, 0x00, 'ILLEGAL REQUEST / LOGICAL UNIT NOT SUPPORTED'),
  writeProtected: expectSense(0x7, 0x27, 0x00, 'DATA PROTECT / WRITE PROTECTED'),
  powerOnReset: expectSense(0x6, 0x29, 0x00, 'UNIT ATTENTION / POWER ON, RESET'),
  miscompare: expectSense(0xe, 0x1d, 0x00, 'MISCOMPARE / MISCOMPARE DURING VERIFY'),
  invalidFieldInInformationUnit: expectSense(0x5, 0x0e, 0x03, 'ILLEGAL REQUEST / INVALID FIELD IN INFORMATION UNIT'),
  hardwareWriteError: expectSense(0x4, 0x0c, 0x00, 'HARDWARE ERROR / WRITE ERROR'),
  spaceAllocationFailed: expectSense(0x7, 0x27, 0x07, 'DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT'),
};

export function expectGood(t: Asserter, response: ScsiResponse, message = 'GOOD'): void {
  t.equal(response.status, 0x00, message);
}
