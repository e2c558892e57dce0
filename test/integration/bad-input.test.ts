/**
 * Bad input (issue 2, point 4): while one session does verified I/O, other connections send truncated,
 * oversized, unknown-opcode, bad-digest, garbage and out-of-phase PDUs. The server must survive, the
 * good session must see correct data, and every bad connection must get a Reject (or a login reject)
 * or be closed with the close visible in the server's log.
 * PDUs come from test/support/iscsi-wire (written from RFC 7143 §11, independent of src/iscsi).
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { WireConnection } from '../support/iscsi-wire/connection.ts';
import {
  Op, anyOpcode, encodeKeys, frame, loginRequest, nopOut, scsiCommand, setLengths,
} from '../support/iscsi-wire/pdu.ts';
import { TestSession } from '../support/iscsi-wire/session.ts';
import { startTarget, type TargetProcess } from '../support/target-process.ts';

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

/** Verified I/O until `stop()`: writes random 64 KiB blocks, reads each back, compares. */
function goodIo(session: TestSession, blocks: number): {
  verified(): number;
  failed(): boolean;
  stop(): Promise<{ verified: number; errors: string[] }>;
} {
  let running = true;
  const errors: string[] = [];
  let verified = 0;
  const perIo = IO_BYTES / session.blockSize;
  const loop = (async () => {
    for (let i = 0; running && errors.length === 0; i++) {
      const lba = (i * 7919 * perIo) % (blocks - perIo);
      const data = randomBytes(IO_BYTES);
      try {
        const w = await session.write10(lba, data);
        if (w.status !== 0) errors.push(`write lba ${lba}: status 0x${w.status.toString(16)}`);
        const r = await session.read10(lba, perIo);
        if (r.status !== 0) errors.push(`read lba ${lba}: status 0x${r.status.toString(16)}`);
        else if (!r.data.equals(data)) errors.push(`read lba ${lba}: data differs from what was written`);
        else verified++;
      } catch (e) {
        errors.push(`I/O ${i}: ${(e as Error).message}`);
      }
    }
  })();
  return {
    verified: () => verified,
    failed: () => errors.length > 0,
    async stop() {
      running = false;
      await loop;
      return { verified, errors };
    },
  };
}

async function logMentions(target: TargetProcess, text: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) { // pino may flush a little after the socket closes
    if (target.log().includes(text)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

t.test('malformed input on many connections while a good session does verified I/O', async (t) => {
  const target = await startTarget({ luns: ['64M'] });
  t.teardown(() => target.stop());
  const good = await TestSession.login(target.host, target.port, { targetName: target.iqn });
  good.lun = Number(process.env.ISCSI_SIM_TEST_LUN ?? 0);
  const { blocks } = await good.readCapacity();
  const io = goodIo(good, blocks);

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
    for (let i = 0; i < 100 && io.verified() < before + IOS_BETWEEN_ROUNDS && !io.failed(); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    t.comment(`round ${round}: ${Date.now() - started} ms, ${io.verified()} verified I/Os so far`);
  }

  const { verified, errors } = await io.stop();
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
      logChecks.push(logMentions(target, `:${o.port}`).then((logged) => {
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
