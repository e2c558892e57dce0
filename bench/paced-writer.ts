/**
 * A rate-limited writer for bench/replication.ts's sustained phase, run as its own process (so it can be
 * pinned with taskset and its CPU counted apart): SESSIONS raw-initiator sessions (test/support's
 * TestSession, queue depth 1 each) write WRITE_KIB blocks sequentially through the LUN (wrapping), write
 * i being due at start + i × WRITE_KIB / RATE. Prints one JSON line when done: bytes written, seconds,
 * achieved MiB/s, writes that started late by more than 100 ms, failed writes, and its own CPU seconds.
 *
 *   npx tsx bench/paced-writer.ts HOST PORT IQN RATE_MIBPS DURATION_S [WRITE_KIB=256] [SESSIONS=8]
 */
import { randomBytes } from 'node:crypto';
import { write10 } from '../test/support/cdbs.ts';
import { TestSession } from '../test/support/iscsi-wire/session.ts';

const MiB = 1024 * 1024;
const [host, portText, iqn, rateText, durationText, writeKiBText = '256', sessionsText = '8'] = process.argv.slice(2);
const port = Number(portText);
const rate = Number(rateText) * MiB;
const durationMs = Number(durationText) * 1000;
const writeBytes = Number(writeKiBText) * 1024;
const sessionCount = Number(sessionsText);
if (!host || !iqn || !(port > 0) || !(rate > 0) || !(durationMs > 0) || !(writeBytes >= 512) || writeBytes % 512 !== 0 || !(sessionCount >= 1)) {
  process.stderr.write('usage: paced-writer.ts HOST PORT IQN RATE_MIBPS DURATION_S [WRITE_KIB] [SESSIONS]\n');
  process.exit(2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const source = randomBytes(8 * MiB);
const sessions = await Promise.all(Array.from({ length: sessionCount }, () => TestSession.login(host, port, { targetName: iqn, timeoutMs: 30_000 })));
// A fresh session's first command meets the unit attention of the new nexus: clear it first.
for (const session of sessions) await session.ready();
const { blocks, blockSize } = await sessions[0].readCapacity();
const lunBytes = blocks * blockSize;
const writesPerLap = Math.floor(lunBytes / writeBytes);
const interval = (writeBytes / rate) * 1000;

let next = 0;
let late = 0;
let failed = 0;
let written = 0;
const started = performance.now();
const cpuBefore = process.cpuUsage();

async function worker(session: TestSession): Promise<void> {
  while (true) {
    const index = next++;
    const due = index * interval;
    if (due >= durationMs) return;
    const wait = due - (performance.now() - started);
    if (wait > 0) await sleep(wait); else if (wait < -100) late++;
    const offset = (index % writesPerLap) * writeBytes;
    const at = (index * 4096) % (source.length - writeBytes);
    const result = await session.command(write10(offset / blockSize, writeBytes / blockSize), { out: source.subarray(at, at + writeBytes) });
    if (result.status === 0) written += writeBytes; else failed++;
  }
}

await Promise.all(sessions.map((session) => worker(session)));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
for (const session of sessions) await session.logout().catch(() => undefined);
process.stdout.write(`${JSON.stringify({
  bytes: written, seconds, mibps: written / MiB / seconds, late, failed, cpuSeconds: (cpu.user + cpu.system) / 1e6,
})}\n`);
process.exit(0);
