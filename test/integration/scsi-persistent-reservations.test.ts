/**
 * Persistent reservations survive a restart with APTPL (issue 3, SPC-4 §5.13.5): two initiators
 * register with APTPL=1 and one reserves Write Exclusive; the `serve` process is stopped and started
 * again on the same LUN file; a new session's PERSISTENT RESERVE IN shows the same keys and the same
 * reservation, and the reservation is still enforced. Without APTPL nothing survives.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestSession } from '../support/iscsi-wire/session.ts';
import {
  parseReadKeys, parseReadReservation, persistentReserveIn, persistentReserveOut, PrIn, PrOut,
  PR_TYPE_WRITE_EXCLUSIVE, STATUS_GOOD, STATUS_RESERVATION_CONFLICT,
} from './support/scsi-cdbs.ts';
import { rawSession } from './support/raw-session.ts';
import { startSystem, type RunningSystem } from './support/system-process.ts';

const IQN = 'iqn.2026-11.org.iscsi-sim:it.pr';
const KEY_A = 0x1111_2222_3333_4444n;
const KEY_B = 0xabcd_ef01_0000_0007n;

function systemOn(lunFile: string): Promise<RunningSystem> {
  return startSystem({
    config: { name: 'pr', portals: ['127.0.0.1:0'], targets: [{ iqn: IQN, luns: [{ lun: 0, file: lunFile, size: '16M' }] }], cim: { enabled: false } },
  });
}

async function prOut(session: TestSession, serviceAction: number, fields: Parameters<typeof persistentReserveOut>[1]): Promise<number> {
  const request = persistentReserveOut(serviceAction, fields);
  return (await session.command(request.cdb, { out: request.out })).status;
}

async function readKeys(session: TestSession): Promise<bigint[]> {
  const answer = await session.command(persistentReserveIn(PrIn.ReadKeys), { inLength: 1024 });
  if (answer.status !== STATUS_GOOD) throw new Error(`READ KEYS status 0x${answer.status.toString(16)}`);
  return parseReadKeys(answer.data).sort();
}

async function readReservation(session: TestSession): Promise<{ key: bigint; type: number } | undefined> {
  const answer = await session.command(persistentReserveIn(PrIn.ReadReservation), { inLength: 1024 });
  if (answer.status !== STATUS_GOOD) throw new Error(`READ RESERVATION status 0x${answer.status.toString(16)}`);
  return parseReadReservation(answer.data);
}

t.test('APTPL registrations and the reservation survive a restart of the target', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iscsi-sim-pr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lunFile = join(dir, 'pr.img');

  const first = await systemOn(lunFile);
  const a = await rawSession(first, { initiatorName: 'iqn.2026-11.org.iscsi-sim:it.pr-a' });
  const b = await rawSession(first, { initiatorName: 'iqn.2026-11.org.iscsi-sim:it.pr-b' });
  t.equal(await prOut(a, PrOut.Register, { serviceActionKey: KEY_A, aptpl: true }), STATUS_GOOD, 'A registers with APTPL=1');
  t.equal(await prOut(b, PrOut.Register, { serviceActionKey: KEY_B, aptpl: true }), STATUS_GOOD, 'B registers with APTPL=1');
  t.equal(await prOut(a, PrOut.Reserve, { key: KEY_A, type: PR_TYPE_WRITE_EXCLUSIVE }), STATUS_GOOD, 'A reserves Write Exclusive');
  t.same(await readKeys(b), [KEY_A, KEY_B].sort(), 'READ KEYS before the restart');
  t.same(await readReservation(b), { key: KEY_A, type: PR_TYPE_WRITE_EXCLUSIVE }, 'READ RESERVATION before the restart');
  t.equal((await b.write10(0, Buffer.alloc(b.blockSize, 1))).status, STATUS_RESERVATION_CONFLICT, 'B cannot write: RESERVATION CONFLICT');
  await a.logout();
  await b.logout();
  await first.stop();
  t.ok(existsSync(`${lunFile}.pr.json`), 'the APTPL state file exists next to the LUN file');

  const second = await systemOn(lunFile);
  t.teardown(() => second.stop());
  t.not(second.pid, first.pid, 'a new process');
  const c = await rawSession(second, { initiatorName: 'iqn.2026-11.org.iscsi-sim:it.pr-c' });
  t.same(await readKeys(c), [KEY_A, KEY_B].sort(), 'READ KEYS after the restart: both keys');
  t.same(await readReservation(c), { key: KEY_A, type: PR_TYPE_WRITE_EXCLUSIVE }, 'READ RESERVATION after the restart: A holds Write Exclusive');
  t.equal((await c.write10(0, Buffer.alloc(c.blockSize, 2))).status, STATUS_RESERVATION_CONFLICT, 'the restored reservation is enforced: C gets RESERVATION CONFLICT on WRITE');
  t.equal((await c.read10(0, 1)).status, STATUS_GOOD, 'reads stay allowed under Write Exclusive');
  await c.logout();
  t.ok(second.alive(), 'target still running');
});

t.test('without APTPL, registrations are gone after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iscsi-sim-pr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lunFile = join(dir, 'pr.img');

  const first = await systemOn(lunFile);
  const a = await rawSession(first, { initiatorName: 'iqn.2026-11.org.iscsi-sim:it.pr-a' });
  t.equal(await prOut(a, PrOut.Register, { serviceActionKey: KEY_A, aptpl: false }), STATUS_GOOD, 'A registers with APTPL=0');
  t.equal(await prOut(a, PrOut.Reserve, { key: KEY_A, type: PR_TYPE_WRITE_EXCLUSIVE }), STATUS_GOOD, 'A reserves');
  t.same(await readKeys(a), [KEY_A]);
  await a.logout();
  await first.stop();

  const second = await systemOn(lunFile);
  t.teardown(() => second.stop());
  const c = await rawSession(second, { initiatorName: 'iqn.2026-11.org.iscsi-sim:it.pr-c' });
  t.same(await readKeys(c), [], 'no keys after the restart');
  t.equal(await readReservation(c), undefined, 'no reservation after the restart');
  t.equal((await c.write10(0, Buffer.alloc(c.blockSize, 2))).status, STATUS_GOOD, 'writes are free again');
  await c.logout();
});
