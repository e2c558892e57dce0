import t from 'tap';
import type { IoCompletion } from '../../../src/scsi/io-counters.ts';
import { harness } from './helpers/harness.ts';
import { expectGood } from './helpers/expect-sense.ts';
import { cdbRead10, cdbVerify10, cdbWrite10, cdbInquiry } from './helpers/cdb.ts';

t.test('per-LUN totals: READ and WRITE count blocks × block size; VERIFY, INQUIRY and failures do not add bytes', async (t) => {
  const h = await harness(t);
  const seen: IoCompletion[] = [];
  const stop = h.target.io.observe((completion) => seen.push(completion));
  expectGood(t, await h.run(cdbWrite10({ lba: 0, blocks: 4 }), { dataOut: [Buffer.alloc(2048, 7)] }));
  expectGood(t, await h.run(cdbRead10({ lba: 0, blocks: 3 })));
  expectGood(t, await h.run(cdbVerify10({ lba: 0, blocks: 2 })));
  expectGood(t, await h.run(cdbInquiry()));
  await h.run(cdbRead10({ lba: h.unit.blocks + 10, blocks: 1 })); // LBA OUT OF RANGE: refused before execution
  t.same(h.target.io.luns.get(0), { readOps: 1, readBytes: 1536, writeOps: 1, writeBytes: 2048, errors: 0 });
  t.same(seen.map((c) => [c.kind, c.bytes, c.ok]), [['write', 2048, true], ['read', 1536, true]], 'one completion per read/write');
  t.ok(seen.every((c) => c.seconds >= 0 && c.seconds < 5), 'latency in seconds');
  stop();
  expectGood(t, await h.run(cdbRead10({ lba: 0, blocks: 1 })));
  t.equal(seen.length, 2, 'no completions after unsubscribing');
  t.equal(h.target.io.luns.get(0)?.readOps, 2, 'totals keep counting');
});

t.test('a write that fails in execution counts as an error, not bytes', async (t) => {
  const h = await harness(t);
  // Data-Out shorter than one block: accepted for run (EDTL < TL), then refused inside it.
  await h.run(cdbWrite10({ lba: 0, blocks: 2 }), { dataOut: [Buffer.alloc(100)] });
  t.same(h.target.io.luns.get(0), { readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0, errors: 1 });
});
