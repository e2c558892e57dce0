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
