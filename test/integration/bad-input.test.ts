/**
 * Bad input (issue 2, point 4): while one session does verified I/O, other connections send truncated,
 * oversized, unknown-opcode, bad-digest, garbage and out-of-phase PDUs. The server must survive, the
 * good session must see correct data, and every bad connection must get a Reject (or a login reject)
 * or be closed with the close visible in the server's log.
 * PDUs come from test/support/iscsi-wire (written from RFC 7143 §11, independent of src/iscsi).
 */
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { decodeKeys } from '../support/iscsi-wire/pdu.ts';
import { WireConnection } from '../support/iscsi-wire/connection.ts';
import {
  Op, anyOpcode, encodeKeys, frame, loginRequest, nopOut, scsiCommand, setLengths,
} from '../support/iscsi-wire/pdu.ts';
import { TestSession } from '../support/iscsi-wire/session.ts';
import { startTarget, type TargetProcess } from '../support/target-process.ts';
import { missingTools } from './support/tools.ts';
import { qemuVerifiedCopies, rawVerifiedIo } from '../support/verified-io.ts';
import { waitFor } from '../support/wait-for.ts';

type Verdict = 'reject' | 'login-reject' | 'closed' | 'no-answer' | `unexpected 0x${string}`;
const ANSWER_TIMEOUT_MS = 30_000;
/** Rounds of every bad case; between rounds the good session completes a few verified I/Os, so the
 * attack and the good I/O really interleave. */
const ROUNDS = 8;
const IOS_BETWEEN_ROUNDS = 4;
const IO_BYTES = 64 * 1024;

/** Reads until the server answers the bad input: Reject, a failed login, or a close. */
async function verdict(conn: WireConnection): Promise<Verdict> {
  while (true) {
    const pdu = await conn.next(ANSWER_TIMEOUT_MS);
    if (pdu === 'closed') return 'closed';
    if (pdu === 'timeout') return 'no-answer';
    if (pdu.opcode === Op.Reject) return 'reject';
    if (pdu.opcode === Op.LoginResponse && pdu.header[36] !== 0) return 'login-reject';
    if (pdu.opcode === Op.NopIn || pdu.opcode === Op.AsyncMessage) continue;
    return `unexpected 0x${pdu.opcode.toString(16)}`;
  }
}

const isid = (): Buffer => Buffer.concat([Buffer.from([0x80]), randomBytes(5)]);
const login = (keys: Buffer, extra: Partial<Parameters<typeof loginRequest>[0]> = {}): Buffer =>
  loginRequest({ isid: isid(), itt: 1, cmdSN: 1, expStatSN: 0, csg: 1, nsg: 3, transit: true, ...extra }, keys.length);
const goodKeys = (target: TargetProcess): Buffer => encodeKeys({
  InitiatorName: 'iqn.2026-11.org.iscsi-sim:bad-input', TargetName: target.iqn, SessionType: 'Normal',
});
/** Random bytes whose first BHS carries a reserved initiator opcode (RFC 7143 §11.2.1.2). */
function garbage(bytes: number): Buffer {
  const g = randomBytes(bytes);
  g[0] = 0x07 + (g[0] % 9); // 0x07..0x0f are reserved
  return g;
}

interface BadCase {
  name: string;
  /** Digests the bad session negotiates first (post-login cases only). */
  digests?: 'CRC32C';
  postLogin?: boolean;
  send(conn: WireConnection, target: TargetProcess, session?: TestSession): void;
}

const sn = (s: TestSession): { itt: number; cmdSN: number; expStatSN: number } =>
  ({ itt: s.itt++, cmdSN: s.cmdSN, expStatSN: s.expStatSN });

const CASES: BadCase[] = [
  { name: 'random garbage before login', send: (c) => c.send(garbage(64 * 1024)) },
  { name: 'SCSI command before login', send: (c) => c.send(frame(scsiCommand({ itt: 1, cmdSN: 1, expStatSN: 0, read: true, expectedLength: 512, cdb: Buffer.from([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]) }, 0))) },
  { name: 'NOP-Out before login', send: (c) => c.send(frame(nopOut({ itt: 1, cmdSN: 1, expStatSN: 0 }))) },
  { name: 'truncated BHS then EOF', send: (c, t) => { c.send(login(goodKeys(t)).subarray(0, 20)); c.endOutput(); } },
  {
    name: 'truncated login data then EOF',
    send: (c, t) => {
      const keys = goodKeys(t);
      c.send(frame(login(keys), keys).subarray(0, 48 + 10));
      c.endOutput();
    },
  },
  {
    name: 'AHS longer than sent then EOF',
    send: (c, t) => { c.send(setLengths(login(goodKeys(t)), 0, 255)); c.send(randomBytes(100)); c.endOutput(); },
  },
  {
    name: 'login with 16 MiB DataSegmentLength',
    send: (c, t) => { c.send(setLengths(login(goodKeys(t)), 0xffffff)); c.send(randomBytes(64 * 1024)); },
  },
  {
    name: 'login with garbage keys',
    send: (c) => {
      const keys = Buffer.concat([Buffer.from('this is not a key\0=novalue\0'), randomBytes(200), Buffer.from('\0')]);
      c.send(frame(login(keys), keys));
    },
  },
  {
    name: 'login with unsupported version',
    send: (c, t) => { const k = goodKeys(t); c.send(frame(login(k, { versionMax: 0x10, versionMin: 0x10 }), k)); },
  },
  {
    name: 'login to unknown target',
    send: (c) => {
      const k = encodeKeys({ InitiatorName: 'iqn.2026-11.org.iscsi-sim:bad-input', TargetName: 'iqn.2026-11.org.nowhere:none', SessionType: 'Normal' });
      c.send(frame(login(k), k));
    },
  },
  { name: 'unknown opcode after login', postLogin: true, send: (c, _t, s) => c.send(frame(anyOpcode(0x0f, sn(s!)))) },
  {
    name: 'random garbage after login', postLogin: true, send: (c) => c.send(garbage(64 * 1024)),
  },
  {
    name: 'NOP-Out with 16 MiB DataSegmentLength after login', postLogin: true,
    send: (c, _t, s) => { c.send(setLengths(nopOut(sn(s!)), 0xffffff)); c.send(randomBytes(64 * 1024)); },
  },
  {
    name: 'SCSI WRITE with 16 MiB immediate data after login', postLogin: true,
    send: (c, _t, s) => {
      const cdb = Buffer.from([0x2a, 0, 0, 0, 0, 0, 0, 0x80, 0, 0]);
      c.send(scsiCommand({ ...sn(s!), write: true, expectedLength: 0xffffff, cdb }, 0xffffff));
      c.send(randomBytes(64 * 1024));
    },
  },
  {
    name: 'bad header digest', postLogin: true, digests: 'CRC32C',
    send: (c, _t, s) => c.send(frame(nopOut(sn(s!)), Buffer.alloc(0), { digests: c.stream.digests, corruptHeaderDigest: true })),
  },
  {
    name: 'bad data digest on immediate data', postLogin: true, digests: 'CRC32C',
    send: (c, _t, s) => {
      const data = randomBytes(4096);
      const cdb = Buffer.from([0x2a, 0, 0, 0, 0, 0x10, 0, 0, 8, 0]);
      const bhs = scsiCommand({ ...sn(s!), write: true, expectedLength: data.length, cdb }, data.length);
      c.send(frame(bhs, data, { digests: c.stream.digests, corruptDataDigest: true }));
    },
  },
];

/** Runs one bad case on its own connection; returns its verdict and the connection's local port. */
async function runCase(target: TargetProcess, bad: BadCase): Promise<{ verdict: Verdict; port: number; skipped?: string }> {
  let conn: WireConnection;
  let session: TestSession | undefined;
  if (bad.postLogin) {
    session = await TestSession.login(target.host, target.port, {
      targetName: target.iqn, headerDigest: bad.digests ?? 'None', dataDigest: bad.digests ?? 'None',
    });
    conn = session.conn;
    if (bad.digests && !conn.stream.digests.header) {
      conn.destroy();
      return { verdict: 'closed', port: conn.localPort, skipped: 'target did not accept CRC32C digests' };
    }
  } else {
    conn = await WireConnection.connect(target.host, target.port);
  }
  bad.send(conn, target, session);
  const v = await verdict(conn);
  conn.destroy();
  return { verdict: v, port: conn.localPort };
}

t.test('malformed input on many connections while a good session does verified I/O', async (t) => {
  const target = await startTarget({ luns: ['64M', '16M'] });
  t.teardown(() => target.stop());
  const noQemu = target.external ? 'external target' : missingTools({ 'qemu-img': 'qemu-utils qemu-block-extra' });
  const qemu = noQemu ? undefined : qemuVerifiedCopies(`iscsi://${target.host}:${target.port}/${target.iqn}/1`);
  const good = await TestSession.login(target.host, target.port, { targetName: target.iqn });
  good.lun = Number(process.env.ISCSI_SIM_TEST_LUN ?? 0);
  const { blocks } = await good.readCapacity();
  const io = rawVerifiedIo(good, blocks, IO_BYTES);

  const outcomes: { name: string; verdict: Verdict; port: number; skipped?: string }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const started = Date.now();
    const before = io.verified();
    const results = await Promise.all(CASES.map(async (bad) => {
      try {
        return { name: bad.name, ...(await runCase(target, bad)) };
      } catch (e) {
        return { name: bad.name, verdict: 'closed' as Verdict, port: 0, skipped: `setup failed: ${(e as Error).message}` };
      }
    }));
    outcomes.push(...results);
    // bounded wait, never a failure: the good session's errors are asserted below
    await waitFor(() => io.verified() >= before + IOS_BETWEEN_ROUNDS || io.failed(), 10_000, 100);
    t.comment(`round ${round}: ${Date.now() - started} ms, ${io.verified()} verified I/Os so far`);
  }

  const { verified, errors } = await io.stop();
  if (qemu) {
    const copies = await qemu.stop();
    t.same(copies.errors, [], 'qemu-img session: every copy compared equal');
    t.ok(copies.verified > 0, `qemu-img copied and compared 8 MiB ${copies.verified} times during the attack`);
  } else {
    t.comment(`qemu-img session skipped: ${noQemu}`);
  }
  t.ok(target.alive(), 'server process still running');
  t.same(errors, [], 'good session: every read matched what it wrote');
  t.ok(verified > 0, `good session verified ${verified} × 64 KiB write/read-back during ${ROUNDS} rounds of ${CASES.length} bad connections`);
  const after = await good.write10(0, randomBytes(IO_BYTES));
  t.equal(after.status, 0, 'good session still works afterwards');
  await good.logout();

  // Each verdict is asserted; whether a close reached the log is checked once per case (in parallel).
  const logChecked = new Set<string>();
  const logChecks: Promise<void>[] = [];
  for (const o of outcomes) {
    if (o.skipped) {
      t.comment(`${o.name}: skipped (${o.skipped})`);
      if (!target.external) t.fail(`${o.name}: ${o.skipped}`);
      continue;
    }
    const answered = o.verdict === 'reject' || o.verdict === 'login-reject' || o.verdict === 'closed';
    t.ok(answered, `${o.name}: ${o.verdict}`);
    if (o.verdict === 'closed' && !target.external && !logChecked.has(o.name)) {
      logChecked.add(o.name);
      logChecks.push(target.printed(`:${o.port}`).then((logged) => {
        t.ok(logged, `${o.name}: server logged the close of port ${o.port}`);
      }));
    }
  }
  await Promise.all(logChecks);

  const fresh = await TestSession.login(target.host, target.port, { targetName: target.iqn });
  fresh.lun = good.lun;
  await fresh.ready();
  t.pass('a new session logs in after the attack');
  await fresh.logout();
});

// ---- CHAP (RFC 7143 §12.1.3): malformed or wrong security-stage exchanges must fail the login.

const CHAP_IQN = 'iqn.2026-11.org.iscsi-sim:bad-chap';
const CHAP = { user: 'bad-input-user', secret: 'bad-input-secret', mutualUser: 'target-user', mutualSecret: 'target-secret-99' };

/** RFC 1994 §4.1 with MD5 (CHAP_A=5): MD5(id || secret || challenge). */
function md5Response(id: number, secret: string, challenge: Buffer): string {
  return `0x${createHash('md5').update(Buffer.from([id])).update(secret).update(challenge).digest('hex')}`;
}

type ChapStep = (challenge: { id: number; challenge: Buffer }) => Record<string, string | number>;

/**
 * Security stage by hand: AuthMethod offer, CHAP_A, then the keys `respond` returns. Resolves the
 * outcome of the last PDU sent: 'accepted' when the target lets the login proceed.
 */
async function chapLogin(target: TargetProcess, first: Record<string, string | number>, respond?: ChapStep): Promise<Verdict | 'accepted'> {
  const conn = await WireConnection.connect(target.host, target.port);
  try {
    const id = isid();
    let expStatSN = 0;
    const send = async (keys: Record<string, string | number>, transit: boolean): Promise<Verdict | Map<string, string>> => {
      const data = encodeKeys(keys);
      conn.send(frame(loginRequest({ isid: id, itt: 1, cmdSN: 1, expStatSN, csg: 0, nsg: 1, transit }, data.length), data));
      const reply = await conn.next(ANSWER_TIMEOUT_MS);
      if (reply === 'closed') return 'closed';
      if (reply === 'timeout') return 'no-answer';
      if (reply.opcode === Op.Reject) return 'reject';
      if (reply.opcode !== Op.LoginResponse) return `unexpected 0x${reply.opcode.toString(16)}`;
      if (reply.header[36] !== 0) return 'login-reject';
      expStatSN = reply.statSN + 1;
      return decodeKeys(reply.data);
    };
    const offer = await send({ InitiatorName: 'iqn.2026-11.org.iscsi-sim:bad-input', TargetName: CHAP_IQN, SessionType: 'Normal', ...first }, false);
    if (!(offer instanceof Map) || !respond) return offer instanceof Map ? 'accepted' : offer;
    const challenge = await send({ CHAP_A: 5 }, false);
    if (!(challenge instanceof Map)) return challenge;
    const chapC = challenge.get('CHAP_C') ?? '';
    const issued = { id: Number(challenge.get('CHAP_I')), challenge: Buffer.from(chapC.replace(/^0x/i, ''), 'hex') };
    const last = await send(respond(issued), true);
    return last instanceof Map ? 'accepted' : last;
  } finally {
    conn.destroy();
  }
}

t.test('malformed and wrong CHAP exchanges fail the login; the server survives', async (t) => {
  const target = await startTarget({
    iqn: CHAP_IQN,
    config: {
      name: 'bad-chap', portals: [{ address: '127.0.0.1', port: 0, portalGroupTag: 1 }], cim: { enabled: false },
      targets: [{ iqn: CHAP_IQN, portalGroupTags: [1], chap: CHAP, luns: [{ lun: 0, file: 'chap.img', size: '16M' }] }],
    },
  });
  t.teardown(() => target.stop());
  const good: ChapStep = (c) => ({ CHAP_N: CHAP.user, CHAP_R: md5Response(c.id, CHAP.secret, c.challenge) });
  const cases: [string, Record<string, string | number>, ChapStep | undefined][] = [
    ['AuthMethod=None on a CHAP target', { AuthMethod: 'None' }, undefined],
    ['CHAP_R that is not hex', { AuthMethod: 'CHAP' }, () => ({ CHAP_N: CHAP.user, CHAP_R: '0xZZZZ' })],
    ['CHAP_R of 3 KiB', { AuthMethod: 'CHAP' }, () => ({ CHAP_N: CHAP.user, CHAP_R: `0x${'ab'.repeat(3072)}` })],
    ['CHAP_R for the wrong secret', { AuthMethod: 'CHAP' }, (c) => ({ CHAP_N: CHAP.user, CHAP_R: md5Response(c.id, 'wrong-secret-1', c.challenge) })],
    ['right response under another CHAP_N', { AuthMethod: 'CHAP' }, (c) => ({ ...good(c), CHAP_N: 'someone-else' })],
    ['CHAP_N and CHAP_R missing', { AuthMethod: 'CHAP' }, () => ({ 'X-nothing': 'here' })],
    ['mutual CHAP_C reflecting the target challenge', { AuthMethod: 'CHAP' }, (c) => ({ ...good(c), CHAP_I: c.id, CHAP_C: `0x${c.challenge.toString('hex')}` })],
    ['mutual CHAP_I out of range', { AuthMethod: 'CHAP' }, (c) => ({ ...good(c), CHAP_I: 999, CHAP_C: `0x${randomBytes(16).toString('hex')}` })],
  ];
  const results = await Promise.all(cases.map(async ([name, first, step]) => {
    try {
      return [name, await chapLogin(target, first, step)] as const;
    } catch (e) {
      return [name, `error ${(e as Error).message}`] as const;
    }
  }));
  for (const [name, outcome] of results) {
    t.ok(outcome === 'login-reject' || outcome === 'reject' || outcome === 'closed', `${name}: ${outcome}`);
  }
  const skipper = await WireConnection.connect(target.host, target.port);
  const keys = encodeKeys({ InitiatorName: 'iqn.2026-11.org.iscsi-sim:bad-input', TargetName: CHAP_IQN, SessionType: 'Normal' });
  skipper.send(frame(login(keys), keys)); // CSG=1: straight to the operational stage, no security stage
  const skipped = await verdict(skipper);
  skipper.destroy();
  t.ok(skipped === 'login-reject' || skipped === 'closed', `skipping the security stage on a CHAP target: ${skipped}`);
  t.equal(await chapLogin(target, { AuthMethod: 'CHAP' }, good), 'accepted', 'the right CHAP response is accepted');
  t.ok(target.alive(), 'server process still running');
});
