/**
 * `iscsi-sim sessions` and the sessions section of `iscsi-sim status` (issue 12): a raw initiator
 * holds a login open (header and data digests CRC32C) to one of two targets of a real `serve`; the
 * CLI, run as a process, lists it from the system's /api/sessions — by --url, by a lab's lab.json
 * (--state-dir, as status finds its systems) and in status next to a real Redis — and lists none
 * after logout.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort, startEmbeddedRedis } from '../../src/lab/embedded-redis.ts';
import { TestSession } from '../support/iscsi-wire/session.ts';
import { cliPath, startSystem } from './support/system-process.ts';
import { missingTools } from './support/tools.ts';

const IQN_A = 'iqn.2026-11.org.iscsi-sim:sessions.a';
const IQN_B = 'iqn.2026-11.org.iscsi-sim:sessions.b';
const INITIATOR = 'iqn.2026-11.org.example:host1';

function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

t.test('sessions: a held login is listed with initiator, address:port, ISID, TSIH, digests; lab-aware; in status', { skip: missingTools({ 'redis-server': 'redis-server' }) }, async (t) => {
  const system = await startSystem({
    config: {
      name: 'sess',
      portals: ['127.0.0.1:0'],
      targets: [{ iqn: IQN_A, luns: [{ size: '16M' }] }, { iqn: IQN_B, luns: [{ size: '16M' }] }],
      metrics: '127.0.0.1:0',
    },
  });
  t.teardown(() => system.stop());
  const httpUrl = system.summary.httpUrl ?? '';
  const portal = system.summary.portals[0];

  const session = await TestSession.login(portal.address, portal.port, { targetName: IQN_A, initiatorName: INITIATOR, headerDigest: 'CRC32C', dataDigest: 'CRC32C' });
  t.teardown(() => session.conn.destroy());
  t.equal(session.keys.get('HeaderDigest'), 'CRC32C', 'header digest negotiated');
  await session.readCapacity();
  // The CLI runs below take a while on a loaded machine: the idle login answers the target's pings.
  const idle = session.answerPingsWhileIdle();
  const address = `127.0.0.1:${session.conn.localPort}`;

  const json = await cli(['sessions', '--url', httpUrl, '--json']);
  t.equal(json.code, 0, 'sessions --json exits 0', { stderr: json.stderr });
  const listed = JSON.parse(json.stdout) as { systems: Array<{ name: string; listing: { targets: string[]; sessions: Array<Record<string, unknown>> } }> };
  t.equal(listed.systems[0].name, 'sess');
  t.same(listed.systems[0].listing.targets, [IQN_A, IQN_B], 'both targets');
  t.match(listed.systems[0].listing.sessions, [{
    target: IQN_A, sessionType: 'Normal', initiatorName: INITIATOR, initiatorAddress: address,
    portal: `127.0.0.1:${portal.port},1`, isid: /^80[0-9a-f]{10}$/, tsih: Number,
    headerDigest: 'CRC32C', dataDigest: 'CRC32C', connections: 1,
  }], 'the held session, as the initiator made it');
  t.equal(listed.systems[0].listing.sessions.length, 1, 'only that one');
  const { isid, tsih } = listed.systems[0].listing.sessions[0] as { isid: string; tsih: number };

  const text = await cli(['sessions', '--url', httpUrl]);
  t.comment(text.stdout.trimEnd());
  t.equal(text.code, 0);
  t.match(text.stdout, `system sess (${httpUrl})`);
  t.match(text.stdout, `  target ${IQN_A}: 1 session\n    ${INITIATOR}\n      address: ${address} via 127.0.0.1:${portal.port},1  isid: ${isid}  tsih: ${tsih}\n      digests: header CRC32C, data CRC32C  connections: 1`);
  t.match(text.stdout, `  target ${IQN_B}: no sessions`);

  // Next to a lab: the systems (and their HTTP servers) come from --state-dir's lab.json, as for status.
  const redis = await startEmbeddedRedis({ dir: join(system.dir, 'redis') });
  t.teardown(() => redis.stop());
  const labDir = join(system.dir, 'lab');
  mkdirSync(labDir, { recursive: true });
  writeFileSync(join(labDir, 'lab.json'), JSON.stringify({
    stateDir: labDir, redisUrl: redis.url,
    systems: [{ name: 'sess', role: 'primary', stateDir: join(system.dir, 'state'), metricsUrl: `${httpUrl}/metrics` }],
  }));
  const fromLab = await cli(['sessions', '--state-dir', labDir]);
  t.equal(fromLab.code, 0, 'sessions --state-dir (lab.json)', { stderr: fromLab.stderr });
  t.match(fromLab.stdout, `address: ${address}`, 'the lab system\'s sessions');
  const unknown = await cli(['sessions', '--state-dir', labDir, '--system', 'nope']);
  t.equal(unknown.code, 2, 'an unknown lab system is an error');
  t.match(unknown.stderr, 'has no system nope (it has sess)');

  const status = await cli(['status', '--state-dir', labDir]);
  t.comment(status.stdout.trimEnd());
  t.equal(status.code, 0, 'status exits 0', { stderr: status.stderr });
  t.match(status.stdout, `sessions:\n  system sess (${httpUrl})\n    target ${IQN_A}: 1 session\n      ${INITIATOR}`, 'status has a sessions section');
  const statusJson = JSON.parse((await cli(['status', '--state-dir', labDir, '--json'])).stdout) as { sessions: Array<{ listing: { sessions: unknown[] } }> };
  t.equal(statusJson.sessions[0].listing.sessions.length, 1, 'status --json carries the sessions');

  await idle.stop();
  await session.logout();
  const deadline = Date.now() + 10_000;
  let after = await cli(['sessions', '--url', httpUrl]);
  while (!after.stdout.includes(`target ${IQN_A}: no sessions`) && Date.now() < deadline) after = await cli(['sessions', '--url', httpUrl]);
  t.match(after.stdout, `target ${IQN_A}: no sessions`, 'gone after logout');

  const closed = await freeLoopbackPort();
  const nothing = await cli(['sessions', '--url', `http://127.0.0.1:${closed}`]);
  t.equal(nothing.code, 1, 'a system not answering: exit 1');
  t.match(nothing.stdout, `system at http://127.0.0.1:${closed}\n  not answering on http://127.0.0.1:${closed}/api/sessions (ECONNREFUSED)`);
});

t.test('sessions over IPv6: the initiator address is bracketed ([::1]:port), as portals are', async (t) => {
  const system = await startSystem({ config: { name: 'sess6', portals: ['[::1]:0'], targets: [{ iqn: IQN_A, luns: [{ size: '16M' }] }], metrics: '127.0.0.1:0' } });
  t.teardown(() => system.stop());
  const portal = system.summary.portals[0];
  const session = await TestSession.login(portal.address, portal.port, { targetName: IQN_A, initiatorName: INITIATOR });
  t.teardown(() => session.conn.destroy());
  const address = `[::1]:${session.conn.localPort}`;
  const json = await cli(['sessions', '--url', system.summary.httpUrl ?? '', '--json']);
  t.equal(json.code, 0, 'sessions --json exits 0', { stderr: json.stderr });
  const listed = JSON.parse(json.stdout) as { systems: Array<{ listing: { sessions: Array<Record<string, unknown>> } }> };
  t.match(listed.systems[0].listing.sessions, [{ initiatorAddress: address, portal: `[::1]:${portal.port},1` }], 'address and portal both bracketed');
  const text = await cli(['sessions', '--url', system.summary.httpUrl ?? '']);
  t.match(text.stdout, `      address: ${address} via [::1]:${portal.port},1`);
  await session.logout();
});
