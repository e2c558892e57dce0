import t from 'tap';
import { ForwardingBackstore } from '../../../src/storage/forwarding-backstore.ts';
import { MemoryBackstore } from '../../../src/storage/memory-backstore.ts';

const MIB = 1024 * 1024;

t.test('every call reaches the inner backstore unchanged', async (t) => {
  const inner = new MemoryBackstore({ sizeBytes: 1 * MIB });
  const forwarding = new ForwardingBackstore(inner);
  t.equal(forwarding.label, inner.label);
  t.equal(forwarding.sizeBytes, 1 * MIB);
  t.equal(forwarding.blockSize, inner.blockSize);
  t.same(forwarding.capabilities, inner.capabilities);

  await forwarding.write(4096, [Buffer.alloc(4096, 7)], { fua: false });
  t.same(await inner.read(4096, 4096), Buffer.alloc(4096, 7), 'write went to the inner backstore');
  t.same(await forwarding.read(4096, 4096), Buffer.alloc(4096, 7), 'read comes from it');
  t.same(await forwarding.allocation(0, 1 * MIB), await inner.allocation(0, 1 * MIB), 'allocation');
  await forwarding.unmap(4096, 4096);
  t.same(await inner.read(4096, 4096), Buffer.alloc(4096), 'unmap');
  await forwarding.flush();
  await forwarding.resize(2 * MIB);
  t.equal(inner.sizeBytes, 2 * MIB, 'resize');
  t.equal(forwarding.sizeBytes, 2 * MIB, 'the size is read through');
  await forwarding.close();
});
