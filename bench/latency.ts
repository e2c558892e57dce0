/**
 * Queue-depth-1 latency probe for bench/run.sh: one session, COUNT 4 KiB WRITE(10)s one after the other
 * (each waits for its status), then COUNT 4 KiB READ(10)s of the same blocks, each timed from sending
 * the command to its status. Prints one line: `write_p50 write_p99 read_p50 read_p99` in microseconds.
 * No installed initiator reports per-I/O percentiles over iSCSI (qemu-img bench gives a total time,
 * fio has no libiscsi engine in Debian), so the test initiator (test/support/iscsi-wire) sends the
 * commands: the same client for every target, so its own cost is the same on both sides.
 *
 *   npx tsx bench/latency.ts iscsi://HOST:PORT/IQN/LUN [COUNT]
 */
import { randomBytes } from 'node:crypto';
import { TestSession } from '../test/support/iscsi-wire/session.ts';

const IO_BYTES = 4096;
/** Blocks written before timing starts: the first few I/Os warm the client's and the target's JIT. */
const WARM_UP = 200;

function parseUrl(text: string): { host: string; port: number; iqn: string; lun: number } {
  const m = /^iscsi:\/\/([^/:]+):(\d+)\/([^/]+)\/(\d+)$/.exec(text);
  if (!m) throw new Error(`expected iscsi://HOST:PORT/IQN/LUN, got ${JSON.stringify(text)}`);
  return { host: m[1], port: Number(m[2]), iqn: m[3], lun: Number(m[4]) };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timed(count: number, io: (i: number) => Promise<{ status: number }>): Promise<Float64Array> {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const { status } = await io(i);
    samples[i] = (performance.now() - started) * 1000;
    if (status !== 0) throw new Error(`I/O ${i} ended with SCSI status 0x${status.toString(16)}`);
  }
  return samples.sort();
}

async function main(): Promise<void> {
  const [url, countText] = process.argv.slice(2);
  if (!url) throw new Error('usage: latency.ts iscsi://HOST:PORT/IQN/LUN [COUNT]');
  const count = Math.max(100, Number(countText ?? 2000));
  const { host, port, iqn, lun } = parseUrl(url);
  const session = await TestSession.login(host, port, { targetName: iqn });
  session.lun = lun;
  await session.readCapacity();
  const blocks = IO_BYTES / session.blockSize;
  const data = randomBytes(IO_BYTES);
  const write = (i: number) => session.write10(i * blocks, data);
  const read = (i: number) => session.read10(i * blocks, blocks);
  await timed(WARM_UP, write);
  await timed(WARM_UP, read);
  const writes = await timed(count, write);
  const reads = await timed(count, read);
  await session.logout();
  const us = (v: number) => v.toFixed(0);
  process.stdout.write(`${us(percentile(writes, 50))} ${us(percentile(writes, 99))} ${us(percentile(reads, 50))} ${us(percentile(reads, 99))}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`latency: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
