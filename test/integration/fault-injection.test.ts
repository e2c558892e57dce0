/**
 * Fault injection against a real `iscsi-sim serve` (issue 11, must-show 1): rules from the config's
 * `faults:` and from POST /api/faults; the raw test initiator and libiscsi's qemu-io read MEDIUM ERROR
 * with the configured ASC/ASCQ at the configured LBAs and good data elsewhere; a delay rule shows in
 * measured latency (lower bound only); a no-response rule is cleared by ABORT TASK and by LUN RESET
 * and the next command succeeds; a drop-connection rule closes the connection and a new login works;
 * bad rules get 400 naming the field; /metrics counts what fired.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, startSystem, type RunningSystem } from './support/system-process.ts';
import { rawSession } from './support/raw-session.ts';
import { missingTools, run } from './support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { sample } from './support/prometheus-sample.ts';

const IQN = 'iqn.2026-11.org.iscsi-sim:faults';
const BAD_FROM = 1000;
const BAD_TO = 1009;
const ABORT_TASK = 1;
const LOGICAL_UNIT_RESET = 5;

/** The JSON answers of /api/faults, loosely typed for t.match. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions walk arbitrary JSON
type ApiBody = Record<string, any>;

async function api(system: RunningSystem, method: string, path: string, body?: unknown): Promise<{ status: number; json: ApiBody }> {
  const response = await fetch(`${system.summary.httpUrl}${path}`, {
    method, signal: AbortSignal.timeout(10_000), ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, json: (await response.json()) as ApiBody };
}

/** Polls GET /api/faults until rule `id` fired `times` (bounded). */
async function firedAtLeast(system: RunningSystem, id: string, times: number): Promise<void> {
  const fired = await waitFor(async () => {
    const { json } = await api(system, 'GET', '/api/faults');
    return (json.rules as Array<{ id: string; fired: number }>).some((rule) => rule.id === id && rule.fired >= times);
  }, 20_000, 50);
  if (!fired) throw new Error(`rule ${id} did not fire ${times} time(s) within 20 s`);
}

t.test('fault rules on a running system, seen by real initiators', async (t) => {
  const system = await startSystem({
    config: {
      name: 'faults',
      portals: ['127.0.0.1:0'],
      metrics: '127.0.0.1:0',
      targets: [{
        iqn: IQN,
        luns: [{ size: '16M', faults: [{ action: 'check-condition', sense: 'unrecovered-read-error', op: 'read', lba: `${BAD_FROM}-${BAD_TO}`, note: 'from the config' }] }],
      }],
    },
  });
  t.teardown(() => system.stop());

  const listed = await api(system, 'GET', '/api/faults');
  t.equal(listed.status, 200);
  t.match(listed.json.rules, [{ id: 'f1', target: IQN, lun: 0, action: 'check-condition', sense: 'unrecovered-read-error', senseCodes: '0x03/0x11/0x00', lba: '1000-1009', fired: 0 }], 'the config rule is listed');

  const session = await rawSession(system);
  t.teardown(() => session.conn.destroy());
  // Known data around the bad range (writes are not matched by an op: read rule).
  const pattern = randomBytes(40 * 512);
  t.equal((await session.write10(980, pattern)).status, 0, 'write LBAs 980-1019');

  await t.test('must-show 1a: MEDIUM ERROR with the configured ASC/ASCQ at the configured LBAs, good data elsewhere', async (t) => {
    for (const lba of [BAD_FROM, 1005, BAD_TO]) {
      const result = await session.read10(lba, 1);
      t.equal(result.status, 0x02, `LBA ${lba}: CHECK CONDITION`);
      t.equal(`${result.sense[2] & 0x0f}/${result.sense[12].toString(16)}/${result.sense[13].toString(16)}`, '3/11/0', `LBA ${lba}: MEDIUM ERROR / UNRECOVERED READ ERROR`);
      t.equal(result.sense.readUInt32BE(3), lba, `LBA ${lba}: INFORMATION names the LBA`);
    }
    const spanning = await session.read10(995, 10);
    t.equal(spanning.sense.readUInt32BE(3), BAD_FROM, 'a read spanning the range reports its first bad LBA');
    const before = await session.read10(980, 20);
    t.equal(before.status, 0, 'LBAs 980-999 read');
    t.ok(before.data.equals(pattern.subarray(0, 20 * 512)), 'with the data written');
    const after = await session.read10(1010, 10);
    t.equal(after.status, 0, 'LBAs 1010-1019 read');
    t.ok(after.data.equals(pattern.subarray(30 * 512)), 'with the data written');
  });

  await t.test('must-show 1a with libiscsi (qemu-io): the bad LBA fails, the rest reads', { skip: missingTools({ 'qemu-io': 'qemu-utils qemu-block-extra' }) }, async (t) => {
    const bad = await run('qemu-io', ['-f', 'raw', '-c', `read ${BAD_FROM * 512} 512`, system.url()], 60_000);
    t.comment(`qemu-io bad LBA: ${(bad.stdout + bad.stderr).trim()}`);
    t.match(bad.stdout + bad.stderr, /read failed: Input\/output error/, 'qemu-io: read failed: Input/output error');
    const good = await run('qemu-io', ['-f', 'raw', '-c', `read 0 ${BAD_FROM * 512}`, '-c', `read ${(BAD_TO + 1) * 512} 1M`, system.url()], 60_000);
    t.equal(good.code, 0, 'qemu-io reads around the bad range', { output: good.stdout + good.stderr });
    t.notMatch(good.stdout + good.stderr, /failed/);
  });

  await t.test('must-show 1b: a delay rule shows in measured latency (lower bound only)', async (t) => {
    const added = await api(system, 'POST', '/api/faults', { action: 'delay', delayMs: 300, op: 'read', lba: '0-99' });
    t.equal(added.status, 201);
    t.match(added.json, { id: 'f2', action: 'delay', delayMs: 300, jitterMs: 0, op: 'read', lba: '0-99' });
    const timings: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const result = await session.read10(i, 1);
      timings.push(performance.now() - started);
      t.equal(result.status, 0, 'delayed read succeeds');
    }
    t.comment(`delayed reads took ${timings.map((ms) => ms.toFixed(0)).join(', ')} ms (rule: 300 ms)`);
    t.ok(timings.every((ms) => ms >= 300), 'each read took at least the configured 300 ms');
    const deleted = await api(system, 'DELETE', '/api/faults/f2');
    t.equal(deleted.status, 200);
    t.match(deleted.json, { removed: { id: 'f2', fired: 3 } });
  });

  await t.test('must-show 1c: no response → ABORT TASK, then LUN RESET; the target stays healthy', async (t) => {
    t.equal((await api(system, 'POST', '/api/faults', { action: 'no-response', opcodes: ['0x28'], count: 1 })).status, 201);
    const hung = session.sendCommand(Buffer.from([0x28, 0, 0, 0, 0, 50, 0, 0, 1, 0]), 512);
    await firedAtLeast(system, 'f3', 1);
    const aborted = await session.taskManagement(ABORT_TASK, { referencedTag: hung.itt, refCmdSN: hung.cmdSN });
    t.equal(aborted, 0, 'ABORT TASK: function complete (and no SCSI response for the task)');
    const next = await session.read10(50, 1);
    t.equal(next.status, 0, 'the next READ succeeds');

    t.equal((await api(system, 'POST', '/api/faults', { action: 'no-response', op: 'read', count: 1 })).status, 201);
    session.sendCommand(Buffer.from([0x28, 0, 0, 0, 0, 60, 0, 0, 1, 0]), 512);
    await firedAtLeast(system, 'f4', 1);
    t.equal(await session.taskManagement(LOGICAL_UNIT_RESET), 0, 'LOGICAL UNIT RESET: function complete');
    const attention = await session.command(Buffer.alloc(6));
    t.equal(attention.status, 0x02, 'TEST UNIT READY after the reset: CHECK CONDITION');
    t.equal(`${attention.sense[2] & 0x0f}/${attention.sense[12].toString(16)}/${attention.sense[13].toString(16)}`, '6/29/3', 'UNIT ATTENTION / BUS DEVICE RESET FUNCTION OCCURRED');
    const afterReset = await session.read10(60, 1);
    t.equal(afterReset.status, 0, 'READ after the reset succeeds');
    const health = await fetch(`${system.summary.httpUrl}/healthz`);
    t.equal(health.status, 200, '/healthz still ready');
  });

  await t.test('drop-connection: the connection closes; a new login reads', async (t) => {
    t.equal((await api(system, 'POST', '/api/faults', { action: 'drop-connection', op: 'read', count: 1 })).status, 201);
    await t.rejects(session.read10(0, 1), /connection closed/, 'the read gets no answer: the connection is gone');
    const again = await rawSession(system);
    t.teardown(() => again.conn.destroy());
    t.equal((await again.read10(0, 1)).status, 0, 'a new session reads');
  });

  await t.test('bad rules: 400 naming the field; DELETE of an unknown id 404; clear', async (t) => {
    const unknownSense = await api(system, 'POST', '/api/faults', { action: 'check-condition', sense: 'medium-eror' });
    t.equal(unknownSense.status, 400);
    t.equal(unknownSense.json.field, 'sense');
    t.match(unknownSense.json.error, /^sense: unknown sense name "medium-eror"/);
    const pastEnd = await api(system, 'POST', '/api/faults', { action: 'busy', lba: 32768 });
    t.equal(pastEnd.json.field, 'lba');
    t.match(pastEnd.json.error, /LBA 32768 is past the end of the LUN \(32768 blocks: 0-32767\)/);
    t.equal((await api(system, 'POST', '/api/faults', { action: 'busy', probability: 0 })).json.field, 'probability');
    t.equal((await api(system, 'POST', '/api/faults', { action: 'busy', every: 0 })).json.field, 'every');
    t.equal((await api(system, 'POST', '/api/faults', { action: 'busy', lun: 4 })).json.field, 'lun');
    t.equal((await api(system, 'DELETE', '/api/faults/f99')).status, 404);
    const cleared = await api(system, 'DELETE', '/api/faults');
    t.same(cleared.json, { removed: 4 }, 'the config rule and the three used-up count: 1 rules');
    const fresh = await rawSession(system);
    t.teardown(() => fresh.conn.destroy());
    t.equal((await fresh.read10(BAD_FROM, 1)).status, 0, 'cleared: the bad LBA reads');
  });

  const metrics = await (await fetch(`${system.summary.httpUrl}/metrics`)).text();
  const counted = (rule: string, action: string) => sample(metrics, 'iscsi_sim_faults_injected_total', { target: IQN, lun: '0', rule, action }) ?? 0;
  t.ok(counted('f1', 'check-condition') >= 4, `/metrics counts the medium errors (${counted('f1', 'check-condition')})`);
  t.equal(counted('f2', 'delay'), 3, '/metrics counts the delays');
  t.equal(counted('f3', 'no-response'), 1);
  t.equal(counted('f5', 'drop-connection'), 1);
  t.match(system.output(), /fault injected: check-condition/, 'every injected fault is logged');
});

/** Runs the iscsi-sim CLI to the end (bounded). */
function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [cliPath, ...args], 60_000);
}

t.test('iscsi-sim fault add|list|clear over --http and next to a lab; status lists the rules', async (t) => {
  const system = await startSystem({ config: { name: 'clisys', portals: ['127.0.0.1:0'], metrics: '127.0.0.1:0', targets: [{ iqn: IQN, luns: [{ size: '16M' }] }] } });
  t.teardown(() => system.stop());
  const http = system.summary.httpUrl ?? '';
  const added = await cli(['fault', 'add', 'check-condition', '--http', http, '--sense', 'write-error', '--op', 'write', '--lba', '100-199', '--every', '2']);
  t.equal(added.code, 0, 'fault add exits 0', { stderr: added.stderr });
  t.match(added.stdout, /added f1 +iqn\.2026-11\.org\.iscsi-sim:faults\/0 +check-condition sense=write-error op=write lba=100-199 every=2 +fired 0 of 0 matching/);
  const session = await rawSession(system);
  t.teardown(() => session.conn.destroy());
  const writes = [await session.write10(100, Buffer.alloc(512)), await session.write10(100, Buffer.alloc(512))];
  t.same(writes.map((w) => w.status), [0, 2], 'every 2nd write to the range: CHECK CONDITION');
  t.equal(`${writes[1]?.sense[2]}/${writes[1]?.sense[12]}`, '3/12', 'MEDIUM ERROR / WRITE ERROR (0x0c)');

  const badLba = await cli(['fault', 'add', 'busy', '--http', http, '--lba', '99999']);
  t.equal(badLba.code, 2, 'a bad rule exits 2');
  t.match(badLba.stderr, /^iscsi-sim: --lba: LBA 99999 is past the end of the LUN \(32768 blocks: 0-32767\)/, 'naming the flag');
  const badAction = await cli(['fault', 'add', 'explode', '--http', http]);
  t.equal(badAction.code, 2);
  t.match(badAction.stderr, /"explode" is not a fault action \(known: check-condition, busy/);
  const noLab = await cli(['fault', 'list', '--state-dir', join(system.dir, 'nolab')]);
  t.equal(noLab.code, 2);
  t.match(noLab.stderr, /no system to ask: give --http URL/);

  // Next to a lab: lab.json names the system's HTTP server (and a Redis that is not there).
  const labDir = join(system.dir, 'lab');
  mkdirSync(labDir, { recursive: true });
  writeFileSync(join(labDir, 'lab.json'), JSON.stringify({
    stateDir: labDir, redisUrl: 'redis://127.0.0.1:1', pairs: [],
    systems: [{ name: 'clisys', role: 'primary', stateDir: join(system.dir, 'state'), portals: [], targets: [], metricsUrl: `${http}/metrics` }],
  }));
  const listed = await cli(['fault', 'list', '--state-dir', labDir]);
  t.equal(listed.code, 0);
  t.match(listed.stdout, /^clisys:\n {2}f1 +iqn[^ ]+\/0 +check-condition sense=write-error op=write lba=100-199 every=2 +fired 1 of 2 matching/);
  t.match(JSON.parse((await cli(['fault', 'list', '--json', '--state-dir', labDir])).stdout), { systems: [{ system: 'clisys', rules: [{ id: 'f1', fired: 1, seen: 2 }] }] });
  const status = await cli(['status', '--state-dir', labDir]);
  t.equal(status.code, 1, 'status: Redis unreachable exits 1');
  t.match(status.stdout, /fault rules:\n +clisys:\n +f1 +iqn[^ ]+\/0 +check-condition/, 'status lists the fault rules');
  t.equal((await cli(['fault', 'add', 'busy', '--state-dir', labDir, '--system', 'clisys', '--count', '1'])).code, 0, 'add through the lab');
  const removed = await cli(['fault', 'clear', 'f1', '--state-dir', labDir]);
  t.match(removed.stdout, /clisys: removed f1 /);
  t.equal((await cli(['fault', 'clear', 'f1', '--state-dir', labDir])).code, 2, 'removing it again: exit 2');
  const cleared = await cli(['fault', 'clear', '--state-dir', labDir]);
  t.match(cleared.stdout, /clisys: removed 1 fault rule\n/);
  const wrongSystem = await cli(['fault', 'list', '--state-dir', labDir, '--system', 'nope']);
  t.match(wrongSystem.stderr, /--system nope: the lab in .* has no such system with an HTTP server \(it has clisys\)/);
});

t.test('with metrics.token, POST and DELETE need the bearer token; GET does not', async (t) => {
  const token = 'lab-token-0123456789abcdef';
  const system = await startSystem({ config: { name: 'tok', portals: ['127.0.0.1:0'], metrics: { address: '127.0.0.1', port: 0, token }, targets: [{ iqn: IQN, luns: [{ size: '16M' }] }] } });
  t.teardown(() => system.stop());
  t.equal((await api(system, 'GET', '/api/faults')).status, 200);
  t.equal((await api(system, 'POST', '/api/faults', { action: 'busy' })).status, 401);
  const ok = await fetch(`${system.summary.httpUrl}/api/faults`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ action: 'busy' }) });
  t.equal(ok.status, 201);
});

t.test('a bad rule in the config stops the start naming the field', async (t) => {
  await t.rejects(startSystem({
    config: { name: 'badcfg', portals: ['127.0.0.1:0'], targets: [{ iqn: IQN, luns: [{ size: '16M', faults: [{ action: 'check-condition', sense: 'nope' }] }] }] },
    readyTimeoutMs: 30_000,
  }), /targets\[0\]\.luns\[0\]\.faults\[0\]\.sense: unknown sense name "nope"/);
});
