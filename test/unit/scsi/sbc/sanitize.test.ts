import t from 'tap';
import { cdbReportSupportedOpcodes } from '../helpers/cdb.ts';
import { waitFor } from '../../../support/wait-for.ts';
import { harness } from '../helpers/harness.ts';

const BLOCKS = 2048;
const sanitize = (serviceAction: number, parameterLength = 0, immediate = false): Buffer => {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x48;
  cdb[1] = (immediate ? 0x80 : 0) | serviceAction;
  cdb.writeUInt16BE(parameterLength, 7);
  return cdb;
};
const overwriteList = (pattern: Buffer, passes = 1, invert = false): Buffer => {
  const header = Buffer.from([(invert ? 0x80 : 0) | passes, 0, 0, 0]);
  header.writeUInt16BE(pattern.length, 2);
  return Buffer.concat([header, pattern]);
};
const tur = Buffer.alloc(6);
const requestSense = Buffer.from([0x03, 0, 0, 0, 18, 0]);
const senseOf = (sense: Buffer | undefined): string => sense === undefined ? 'none' : `${sense[2] & 0x0f}/${sense[12].toString(16)}/${sense[13].toString(16)}`;

t.test('not offered without the personality: INVALID COMMAND OPERATION CODE, absent from REPORT SUPPORTED OPERATION CODES', async (t) => {
  const h = await harness(t);
  t.equal(senseOf((await h.run(sanitize(0x03))).sense), '5/20/0');
  const one = h.data(await h.run(cdbReportSupportedOpcodes({ options: 3, opcode: 0x48, serviceAction: 0x03 })));
  t.equal(one[1] & 0x07, 0x01, 'SUPPORT: not supported');
});

t.test('OVERWRITE writes the pattern (inverted on even pass counts with INVERT) to every block; bad lists name the field', async (t) => {
  const h = await harness(t, { blocks: BLOCKS, unit: { sanitizeMinimumMs: 0 } });
  const pattern = Buffer.from('ab');
  t.equal((await h.run(sanitize(0x01, 6), { dataOut: [overwriteList(pattern)] })).status, 0, 'GOOD');
  const all = await h.backstore.read(0, BLOCKS * 512);
  t.ok(all.equals(Buffer.alloc(BLOCKS * 512).fill(pattern)), 'every block holds the pattern');
  t.equal((await h.run(sanitize(0x01, 6), { dataOut: [overwriteList(pattern, 2, true)] })).status, 0);
  t.ok((await h.backstore.read(512 * 7, 512)).equals(Buffer.alloc(512).fill(Buffer.from([~0x61 & 0xff, ~0x62 & 0xff]))), 'two passes with INVERT: the inverted pattern');
  t.equal(senseOf((await h.run(sanitize(0x01, 4), { dataOut: [Buffer.alloc(4)] })).sense), '5/24/0', 'parameter list of 4 bytes: INVALID FIELD IN CDB');
  t.equal(senseOf((await h.run(sanitize(0x01, 6), { dataOut: [overwriteList(pattern, 0)] })).sense), '5/26/0', 'OVERWRITE COUNT 0: INVALID FIELD IN PARAMETER LIST');
  t.equal(senseOf((await h.run(sanitize(0x02, 8), { dataOut: [Buffer.alloc(8)] })).sense), '5/24/0', 'BLOCK ERASE with a parameter list');
  const reserved = sanitize(0x02);
  reserved[4] = 1;
  t.equal(senseOf((await h.run(reserved)).sense), '5/24/0', 'reserved byte 4');
  t.equal(senseOf((await h.run(sanitize(0x04))).sense), '5/24/0', 'service action 4');
});

t.test('BLOCK / CRYPTO ERASE deallocate everything; while one runs the LU is NOT READY, SANITIZE IN PROGRESS (with progress), INQUIRY still served', async (t) => {
  const h = await harness(t, { blocks: BLOCKS, unit: { sanitizeMinimumMs: 300 } });
  await h.backstore.write(0, [Buffer.alloc(BLOCKS * 512, 0x61)], { fua: false });
  t.equal((await h.run(sanitize(0x02, 0, true))).status, 0, 'IMMED=1: GOOD at once');
  t.equal(senseOf((await h.run(tur)).sense), '2/4/1b', 'TEST UNIT READY: NOT READY / SANITIZE IN PROGRESS');
  const sense = h.data(await h.run(requestSense));
  t.equal(senseOf(sense), '2/4/1b', 'REQUEST SENSE reports it');
  t.equal(sense[15], 0x80, 'SKSV with a progress indication');
  t.equal((await h.run(Buffer.from([0x12, 0, 0, 0, 36, 0]))).status, 0, 'INQUIRY served');
  h.target.reset('lun', 0, { id: 'x', initiatorName: 'x', isid: '0', targetName: 'x', portalGroupTag: 1 });
  h.unit.unitAttentions.clear('iqn.2026-11.org.test:init1,i,0x400001370000');
  t.equal(senseOf((await h.run(tur)).sense), '2/4/1b', 'a LUN reset does not stop it');
  t.ok(await waitFor(async () => (await h.run(tur)).status === 0), 'ready once it has ended');
  t.same(await h.backstore.allocation(0, BLOCKS * 512), [{ offset: 0, length: BLOCKS * 512, mapped: false }], 'every block deallocated');
  t.ok((await h.backstore.read(0, 512)).equals(Buffer.alloc(512)), 'reads as zeros');
  await h.backstore.write(0, [Buffer.alloc(512, 0x62)], { fua: false });
  t.equal((await h.run(sanitize(0x03))).status, 0, 'CRYPTO ERASE (IMMED=0) returns when done');
  t.ok((await h.backstore.read(0, 512)).equals(Buffer.alloc(512)), 'gone');
});

t.test('a write-protected LU refuses SANITIZE with WRITE PROTECTED', async (t) => {
  const h = await harness(t, { unit: { sanitizeMinimumMs: 0, writeProtected: true } });
  t.equal(senseOf((await h.run(sanitize(0x03))).sense), '7/27/0');
});
