import t from 'tap';
import { ownedPdu, type Pdu } from '../../../src/iscsi/pdu.ts';

t.test('ownedPdu copies a transient payload and leaves an owned PDU as it is', async (t) => {
  const receive = Buffer.from('abcdefgh');
  const bhs = Buffer.alloc(48);
  const transient: Pdu = { bhs, ahs: undefined, data: receive.subarray(0, 4), dataParts: [receive.subarray(0, 2), receive.subarray(2, 4)], transient: true };
  const owned = ownedPdu(transient);
  receive.fill(0);
  t.same(owned.data, Buffer.from('abcd'), 'payload survives the receive buffer being reused');
  t.notOk(owned.transient, 'no longer transient');
  t.equal(owned.bhs, bhs, 'header kept (already the PDU own)');
  const plain: Pdu = { bhs, ahs: undefined, data: Buffer.from('x') };
  t.equal(ownedPdu(plain), plain, 'an owned PDU is returned unchanged');
});
