import t from 'tap';
import { decodePayload, encodePayload, encodeSlabPayload, payloadVerifyRequest } from '../../../../src/replication/pipeline/payload.ts';

t.test('round trip of writes and zero ranges, offsets beyond 4 GiB', async (t) => {
  const payload = encodePayload([{ offset: 2 ** 40, data: Buffer.from('abc') }, { offset: 7, zeroLength: 2 ** 33 }]);
  const extents = decodePayload(payload);
  t.same(extents.map((e) => [e.offset, e.data?.toString(), e.zeroLength]), [[2 ** 40, 'abc', undefined], [7, undefined, 2 ** 33]]);
});

t.test('a slab becomes the payload without copying its data', async (t) => {
  const slab = Buffer.alloc(1024);
  slab.write('hello world', 0);
  const payload = encodeSlabPayload([{ offset: 4096, data: slab.subarray(6, 11) }, { offset: 0, data: slab.subarray(0, 5) }], slab, 11);
  t.equal(payload.buffer, slab.buffer, 'same memory');
  t.same(decodePayload(payload).map((e) => [e.offset, e.data?.toString()]), [[4096, 'world'], [0, 'hello']]);
});

t.test('a full slab falls back to a copy', async (t) => {
  const slab = Buffer.alloc(8, 0x61);
  const payload = encodeSlabPayload([{ offset: 0, data: slab.subarray(0, 8) }], slab, 8);
  t.not(payload.buffer, slab.buffer);
  t.equal(decodePayload(payload)[0].data?.toString(), 'aaaaaaaa');
});

t.test('verify requests ride in the header', async (t) => {
  t.same(payloadVerifyRequest(encodePayload([], { id: 'abc123', chunkBytes: 1 << 20 })), { id: 'abc123', chunkBytes: 1 << 20 });
  t.equal(payloadVerifyRequest(encodePayload([])), undefined);
  t.equal(payloadVerifyRequest(encodePayload([], { id: '../../etc', chunkBytes: 1 << 20 })), undefined, 'odd ids are ignored');
});

t.test('malformed payloads throw instead of crashing the applier', async (t) => {
  t.throws(() => decodePayload(Buffer.alloc(2)));
  t.throws(() => decodePayload(Buffer.from([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff])));
  const good = encodePayload([{ offset: 0, data: Buffer.from('xyz') }]);
  const truncated = Buffer.concat([good.subarray(0, 1), good.subarray(3)]);
  t.throws(() => decodePayload(truncated), 'extent pointing outside the data region');
});
