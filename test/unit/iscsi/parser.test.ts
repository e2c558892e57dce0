import t from 'tap';
import { PduParser, type ParseError } from '../../../src/iscsi/parser.ts';
import type { Pdu } from '../../../src/iscsi/pdu.ts';
import { bhs, frame } from './helpers/initiator.ts';

function collect(headerDigest = false, dataDigest = false, max = 262144) {
  const pdus: Pdu[] = [];
  const errors: ParseError[] = [];
  const parser = new PduParser({ pdu: (p) => pdus.push(p), error: (e) => errors.push(e) }, max);
  parser.headerDigest = headerDigest;
  parser.dataDigest = dataDigest;
  return { parser, pdus, errors };
}

const payload = Buffer.from('hello, iSCSI!'); // 13 bytes: exercises padding
const pduA = frame(bhs({ opcode: 0x01, itt: 7 }, payload.length), payload);
const pduB = frame(bhs({ opcode: 0x00, itt: 8 }, 0));
const ahsHeader = bhs({ opcode: 0x01, itt: 9 }, 4);
ahsHeader[4] = 1; // one AHS word
const pduC = Buffer.concat([ahsHeader, Buffer.from([0, 1, 1, 0]), Buffer.from('abcd')]);

t.test('a PDU split at every byte is reassembled intact', async (t) => {
  for (let split = 1; split < pduA.length; split++) {
    const { parser, pdus, errors } = collect();
    parser.push(pduA.subarray(0, split));
    parser.push(pduA.subarray(split));
    t.equal(errors.length, 0);
    t.equal(pdus.length, 1, `split at ${split}`);
    t.equal(pdus[0].bhs.readUInt32BE(16), 7);
    t.same(pdus[0].data, payload);
  }
});

t.test('byte-by-byte delivery and several PDUs in one chunk', async (t) => {
  const all = Buffer.concat([pduA, pduB, pduC, pduA]);
  const one = collect();
  one.parser.push(all);
  t.same(one.pdus.map((p) => p.bhs.readUInt32BE(16)), [7, 8, 9, 7]);
  t.same(one.pdus[2].ahs, Buffer.from([0, 1, 1, 0]));
  t.same(one.pdus[2].data, Buffer.from('abcd'));
  const bytes = collect();
  for (let i = 0; i < all.length; i++) bytes.parser.push(all.subarray(i, i + 1));
  t.same(bytes.pdus.map((p) => p.bhs.readUInt32BE(16)), [7, 8, 9, 7]);
  t.same(bytes.pdus[3].data, payload);
});

t.test('a PDU inside one chunk is a view, not a copy', async (t) => {
  const { parser, pdus } = collect();
  const chunk = Buffer.concat([pduA]);
  parser.push(chunk);
  t.equal(pdus[0].data.buffer, chunk.buffer);
});

t.test('digests are checked and stripped', async (t) => {
  const digested = frame(bhs({ opcode: 0x01, itt: 5 }, payload.length), payload, { header: true, data: true });
  for (let split = 1; split < digested.length; split += 7) {
    const { parser, pdus, errors } = collect(true, true);
    parser.push(digested.subarray(0, split));
    parser.push(digested.subarray(split));
    t.equal(errors.length, 0);
    t.same(pdus[0].data, payload);
  }
  const badHeader = Buffer.from(digested);
  badHeader[48] ^= 0xff;
  const h = collect(true, true);
  h.parser.push(badHeader);
  t.equal(h.pdus.length, 0);
  t.equal(h.errors[0]?.kind, 'header-digest');
  const badData = Buffer.from(digested);
  badData[badData.length - 1] ^= 0xff;
  const d = collect(true, true);
  d.parser.push(badData);
  t.equal(d.errors[0]?.kind, 'data-digest');
  t.equal(d.errors[0]?.bhs.readUInt32BE(16), 5);
});

t.test('an oversized data segment is an error value and stops the parser', async (t) => {
  const { parser, pdus, errors } = collect(false, false, 1024);
  parser.push(bhs({ opcode: 0x05 }, 4096));
  parser.push(pduB);
  t.equal(errors.length, 1);
  t.equal(errors[0].kind, 'oversized');
  t.equal(pdus.length, 0);
});

t.test('random garbage never throws', async (t) => {
  for (let round = 0; round < 200; round++) {
    const { parser } = collect(round % 2 === 0, round % 3 === 0, 65536);
    const junk = Buffer.alloc(1 + Math.floor(Math.random() * 300));
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(Math.random() * 256);
    t.doesNotThrow(() => parser.push(junk));
  }
});

t.test('write payload split across chunks arrives as views of the chunks, in order, digests checked', async (t) => {
  const data = Buffer.alloc(5001);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  for (const opcode of [0x01, 0x05]) {
    for (const digests of [{}, { header: true, data: true }]) {
      const wire = frame(bhs({ opcode, itt: 11 }, data.length), data, digests);
      for (const size of [100, 1448, 4096]) {
        const { parser, pdus, errors } = collect(digests.header === true, digests.data === true);
        const chunks: Buffer[] = [];
        for (let at = 0; at < wire.length; at += size) chunks.push(Buffer.from(wire.subarray(at, at + size)));
        for (const chunk of chunks) parser.push(chunk);
        t.equal(errors.length, 0);
        t.equal(pdus.length, 1);
        const parts = pdus[0].dataParts ?? [pdus[0].data];
        t.same(Buffer.concat(parts), data, `opcode ${opcode} chunks of ${size}`);
        if (pdus[0].dataParts) {
          t.ok(pdus[0].dataParts.every((p) => chunks.some((c) => c.buffer === p.buffer)), 'views, not copies');
          t.same(pdus[0].data, data, 'data joins the parts on demand');
        }
      }
      // A corrupted byte in the middle of a split segment is caught.
      if (digests.data) {
        const bad = Buffer.from(wire);
        bad[48 + 8 + 2500] ^= 1;
        const { parser, pdus, errors } = collect(true, true);
        for (let at = 0; at < bad.length; at += 1448) parser.push(bad.subarray(at, at + 1448));
        t.equal(pdus.length, 0);
        t.equal(errors[0]?.kind, 'data-digest');
      }
    }
  }
});

t.test('a non-write PDU split across chunks gets one contiguous data buffer', async (t) => {
  const text = Buffer.from('SendTargets=All\0'.repeat(200));
  const wire = frame(bhs({ opcode: 0x04, itt: 12 }, text.length), text);
  const { parser, pdus } = collect();
  for (let at = 0; at < wire.length; at += 1000) parser.push(wire.subarray(at, at + 1000));
  t.equal(pdus.length, 1);
  t.equal(pdus[0].dataParts, undefined);
  t.same(pdus[0].data, text);
});

t.test('reused chunks: nothing kept points into the receive buffer; write payload is transient', async (t) => {
  const write = Buffer.alloc(3000, 0x5a);
  const scsiWrite = frame(bhs({ opcode: 0x01, itt: 11 }, write.length), write);
  const dataOut = frame(bhs({ opcode: 0x05, itt: 12 }, write.length), write);
  const text = frame(bhs({ opcode: 0x04, itt: 7 }, payload.length), payload); // Text Request
  const withAhs = Buffer.from(pduC);
  withAhs[0] = 0x04;
  const stream = Buffer.concat([text, scsiWrite, withAhs, dataOut, pduB]);
  for (const size of [1, 7, 48, 100, 1500, stream.length]) {
    const seen: { itt: number; data: Buffer; transient: boolean }[] = [];
    const kept: Pdu[] = [];
    const errors: ParseError[] = [];
    const parser = new PduParser({
      pdu: (p) => {
        kept.push(p);
        // A consumer copies transient payload during the call, as the write path does.
        seen.push({ itt: p.bhs.readUInt32BE(16), data: Buffer.from(p.data), transient: p.transient === true });
      },
      error: (e) => errors.push(e),
    });
    parser.reusedChunks = true;
    const receive = Buffer.alloc(size);
    for (let at = 0; at < stream.length; at += size) {
      const n = Math.min(size, stream.length - at);
      stream.copy(receive, 0, at, at + n);
      parser.push(receive.subarray(0, n));
      receive.fill(0xee); // the next read overwrites it
    }
    t.equal(errors.length, 0, `reads of ${size}`);
    t.same(seen.map((s) => s.itt), [7, 11, 9, 12, 8], `reads of ${size}: every PDU`);
    t.same(seen.map((s) => s.transient), [false, true, false, true, false], 'only SCSI Command / Data-Out payload is transient');
    t.same(seen[1].data, write, 'write payload intact during the call');
    t.same(seen[3].data, write, 'Data-Out payload intact during the call');
    // What is not transient must survive the receive buffer being overwritten.
    t.same(kept.map((p) => p.bhs.readUInt32BE(16)), [7, 11, 9, 12, 8], 'headers are the PDUs own');
    t.same(kept[0].data, payload, 'other data segments are the PDUs own');
    t.same(kept[2].ahs, Buffer.from([0, 1, 1, 0]));
    t.same(kept[2].data, Buffer.from('abcd'));
  }
});
