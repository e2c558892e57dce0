/**
 * Hot-path micro benchmark: the fabric's PDU parser over socket-sized chunks (PDUs straddling chunk
 * boundaries, as TCP delivers them), with and without CRC32C digests, and the Data-In serializer.
 * Input PDUs come from the test-side builders (test/support/iscsi-wire), not from the code measured.
 *
 *   npx tsx bench/micro-pdu.ts            (SCALE=0.25 for a quick run)
 */
import { crc32c } from '@node-rs/crc32';
import { PduParser } from '../src/iscsi/parser.ts';
import { dataIn, NO_RESIDUAL } from '../src/iscsi/serializer.ts';
import { frame, scsiCommand, type Digests } from '../test/support/iscsi-wire/pdu.ts';

const scale = Number(process.env.SCALE ?? 1);
const budgetNs = BigInt(Math.max(200, Math.round(1000 * scale))) * 1_000_000n;

/** Runs `fn` repeatedly for the time budget; returns iterations per second. */
function measure(fn: () => void): number {
  for (let i = 0; i < 3; i++) fn(); // warm up
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < budgetNs) {
    fn();
    runs++;
    elapsed = process.hrtime.bigint() - start;
  }
  return runs / (Number(elapsed) / 1e9);
}

/** A byte stream of `count` SCSI WRITE PDUs with `size` bytes of immediate data each. */
function writeStream(size: number, count: number, digests: Digests): Buffer {
  const data = Buffer.alloc(size, 0xa5);
  const cdb = Buffer.from([0x2a, 0, 0, 0, 0, 0, 0, 0, size / 512, 0]);
  const pdus: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    pdus.push(frame(scsiCommand({ itt: i + 1, cmdSN: i + 1, expStatSN: 1, write: true, expectedLength: size, cdb }, size), data, { digests }));
  }
  return Buffer.concat(pdus);
}

function parserRow(label: string, size: number, digests: Digests, chunk: number): string {
  const count = Math.max(16, Math.floor((8 << 20) / size));
  const stream = writeStream(size, count, digests);
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunk) chunks.push(stream.subarray(at, at + chunk));
  let parsed = 0;
  let failed = false;
  const perSecond = measure(() => {
    const parser = new PduParser({ pdu: () => parsed++, error: () => (failed = true) });
    parser.headerDigest = digests.header;
    parser.dataDigest = digests.data;
    for (const c of chunks) parser.push(c);
  });
  if (failed) throw new Error(`${label}: the parser reported an error`);
  const mbs = (perSecond * stream.length) / 1e6;
  return `| parse ${label} | ${mbs.toFixed(0)} MB/s | ${(perSecond * count / 1000).toFixed(0)} k PDU/s |`;
}

function dataInRow(size: number): string {
  const payload = Buffer.alloc(size);
  const seq = { statSN: 1, expCmdSN: 2, maxCmdSN: 65 };
  const perSecond = measure(() => {
    for (let i = 0; i < 1000; i++) {
      dataIn({ final: true, status: 0, residual: NO_RESIDUAL, lun: 0, itt: i, dataSN: 0, bufferOffset: 0, data: [payload] }, seq);
    }
  }) * 1000;
  return `| serialize Data-In (status in last PDU) | — | ${(perSecond / 1e6).toFixed(2)} M PDU/s |`;
}

function crcRow(): string {
  const block = Buffer.alloc(64 * 1024, 0x5a);
  const perSecond = measure(() => {
    for (let i = 0; i < 64; i++) crc32c(block);
  }) * 64;
  return `| CRC32C (@node-rs/crc32) over 64 KiB | ${((perSecond * block.length) / 1e6).toFixed(0)} MB/s | — |`;
}

const none: Digests = { header: false, data: false };
const both: Digests = { header: true, data: true };
console.log('| hot path | throughput | rate |');
console.log('|---|---:|---:|');
console.log(parserRow('64 KiB writes, 64 KiB chunks', 65536, none, 65536));
console.log(parserRow('64 KiB writes + digests, 64 KiB chunks', 65536, both, 65536));
console.log(parserRow('4 KiB writes, 64 KiB chunks', 4096, none, 65536));
console.log(parserRow('4 KiB writes, 1448-byte chunks (MSS)', 4096, none, 1448));
console.log(dataInRow(65536));
console.log(crcRow());
console.error(`micro-pdu: SCALE=${scale}, node ${process.version}`);
