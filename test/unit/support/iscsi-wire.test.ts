import t from 'tap';
import {
  Op, PduStream, decodeKeys, digest, encodeKeys, frame, loginRequest, nopOut, scsiCommand,
} from '../../support/iscsi-wire/pdu.ts';

t.test('CRC32C digest matches the iSCSI test vectors, least significant byte first', async (t) => {
  // RFC 3720 Appendix B.4: 32 bytes of zeros / of 0xff
  t.same([...digest(Buffer.alloc(32))], [0xaa, 0x36, 0x91, 0x8a]);
  t.same([...digest(Buffer.alloc(32, 0xff))], [0x43, 0xab, 0xa8, 0x62]);
});

t.test('login request BHS fields (RFC 7143 §11.12)', async (t) => {
  const keys = encodeKeys({ InitiatorName: 'iqn.x', SessionType: 'Normal' });
  const h = loginRequest({ isid: Buffer.from([0x80, 1, 2, 3, 4, 5]), itt: 7, cmdSN: 1, expStatSN: 0, csg: 1, nsg: 3, transit: true }, keys.length);
  t.equal(h[0], 0x43, 'immediate login opcode');
  t.equal(h[1], 0x87, 'T=1 CSG=1 NSG=3');
  t.equal(h.readUIntBE(5, 3), keys.length);
  t.equal(h.readUInt32BE(16), 7);
  t.same([...decodeKeys(keys)], [['InitiatorName', 'iqn.x'], ['SessionType', 'Normal']]);
});

t.test('frame and PduStream round-trip with digests, split at every byte', async (t) => {
  const data = Buffer.from('abcdefg'); // 7 bytes: one pad byte
  const one = frame(scsiCommand({ itt: 1, cmdSN: 1, expStatSN: 1, write: true, expectedLength: 7, cdb: Buffer.from([0x2a]) }, 7), data, { digests: { header: true, data: true } });
  const two = frame(nopOut({ itt: 2, cmdSN: 2, expStatSN: 1 }), Buffer.alloc(0), { digests: { header: true, data: true } });
  t.equal(one.length, 48 + 4 + 8 + 4);
  const wire = Buffer.concat([one, two]);
  for (let cut = 0; cut <= wire.length; cut++) {
    const stream = new PduStream();
    stream.digests = { header: true, data: true };
    stream.push(wire.subarray(0, cut));
    const got = [];
    for (let p = stream.take(); p; p = stream.take()) got.push(p);
    stream.push(wire.subarray(cut));
    for (let p = stream.take(); p; p = stream.take()) got.push(p);
    if (got.length !== 2 || got[0].opcode !== Op.ScsiCommand || !got[0].data.equals(data) || got[1].itt !== 2) {
      t.fail(`split at ${cut}`);
      return;
    }
  }
  t.pass('every split point yields the same two PDUs');
});

t.test('corrupted digests differ from the real ones', async (t) => {
  const bhs = nopOut({ itt: 1, cmdSN: 1, expStatSN: 1 });
  const good = frame(bhs, Buffer.alloc(0), { digests: { header: true, data: false } });
  const bad = frame(bhs, Buffer.alloc(0), { digests: { header: true, data: false }, corruptHeaderDigest: true });
  t.not(good.subarray(48).toString('hex'), bad.subarray(48).toString('hex'));
});
