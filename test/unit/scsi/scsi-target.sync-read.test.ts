/** A READ whose blocks the backstore has without waiting is answered in the same turn, without a promise. */
import t from 'tap';
import type { ScsiCommand } from '../../../src/scsi/command.ts';
import { LogicalUnit } from '../../../src/scsi/logical-unit.ts';
import { createScsiTarget } from '../../../src/scsi/scsi-target.ts';
import { ForwardingBackstore } from '../../../src/storage/forwarding-backstore.ts';
import { MemoryBackstore } from '../../../src/storage/memory-backstore.ts';
import { ObservedBackstore } from '../../../src/storage/observed-backstore.ts';
import type { Backstore } from '../../../src/storage/backstore.ts';
import { cdbRead10, cdbWrite10 } from './helpers/cdb.ts';
import { nexus, TARGET_IQN } from './helpers/harness.ts';

/** A backstore that never has anything at once (a cache miss every time). */
class AlwaysWaiting extends ForwardingBackstore {
  override readNow(): undefined {
    return undefined;
  }
}

function rig(wrap: (memory: MemoryBackstore) => Backstore = (memory) => memory) {
  const memory = new MemoryBackstore({ sizeBytes: 1024 * 512, label: 'memory LUN 0' });
  const unit = new LogicalUnit({ lun: 0, backstore: new ObservedBackstore(wrap(memory)), naa: '3000000000000abd' });
  const target = createScsiTarget({ targetIqn: TARGET_IQN, units: [unit] });
  const main = nexus();
  target.nexusAdded(main);
  unit.unitAttentions.clear(main.id);
  const command = (cdb: Buffer, dataOut: Buffer[] = []): ScsiCommand => ({
    cdb, lun: 0, nexus: main, taskAttribute: 1, expectedLength: dataOut.length > 0 ? dataOut[0].length : 4096,
    readFlag: dataOut.length === 0, writeFlag: dataOut.length > 0, dataOut, dataOutLength: dataOut.length > 0 ? dataOut[0].length : 0, signal: new AbortController().signal,
  });
  return { target, command };
}

function bytesOf(response: { dataIn?: readonly Buffer[]; release?: () => void }): Buffer {
  const out = Buffer.concat((response.dataIn ?? []).map((b) => Buffer.from(b)));
  response.release?.();
  return out;
}

t.test('memory never waits: READ returns its response, not a promise, and is counted', async (t) => {
  const { target, command } = rig();
  await target.execute(command(cdbWrite10({ lba: 8, blocks: 8 }), [Buffer.alloc(4096, 0x5a)]));
  const response = target.execute(command(cdbRead10({ lba: 8, blocks: 8 })));
  t.notOk(response instanceof Promise, 'answered in the same turn');
  if (response instanceof Promise) return;
  t.equal(response.status, 0);
  t.same(bytesOf(response), Buffer.alloc(4096, 0x5a));
  t.same(target.io.luns.get(0), { readOps: 1, readBytes: 4096, writeOps: 1, writeBytes: 4096, errors: 0 });
  const outOfRange = target.execute(command(cdbRead10({ lba: 1020, blocks: 8 })));
  t.notOk(outOfRange instanceof Promise, 'a refusal before the medium is answered at once too');
  if (!(outOfRange instanceof Promise)) t.equal(outOfRange.status, 2, 'CHECK CONDITION');
});

t.test('a backstore that must wait: READ returns a promise of the same response', async (t) => {
  const { target, command } = rig((memory) => new AlwaysWaiting(memory));
  await target.execute(command(cdbWrite10({ lba: 0, blocks: 8 }), [Buffer.alloc(4096, 0x33)]));
  const pending = target.execute(command(cdbRead10({ lba: 0, blocks: 8 })));
  t.ok(pending instanceof Promise, 'read() waited for');
  const response = await pending;
  t.equal(response.status, 0);
  t.same(bytesOf(response), Buffer.alloc(4096, 0x33));
  t.equal(target.io.luns.get(0)?.readOps, 1);
});
