/**
 * Interop with the Linux kernel initiator (open-iscsi + iscsi_tcp) — issue 2, point 3.
 * The host kernel has no iscsi_tcp, so a small guest (test/support/guest) boots under QEMU and reaches
 * the target on the host's loopback as 10.0.2.2 through QEMU user networking.
 */
import t, { type Test } from 'tap';
import { buildGuest, qemuUnavailableReason, runGuest, type GuestRunResult } from '../support/guest/guest.ts';
import { startTarget } from '../support/target-process.ts';

const GUEST_TIMEOUT_MS = 300_000;
const STEPS = ['iscsid', 'discovery', 'login', 'disk', 'raw-write', 'raw-read', 'raw-compare', 'mkfs', 'mount',
  'fs-write', 'umount', 'e2fsck', 'remount', 'fs-verify', 'logout'];

const qemuProblem = qemuUnavailableReason();
const build = qemuProblem ? undefined : await buildGuest();
const skip = qemuProblem ?? (build && !build.ok ? build.reason : undefined);

function report(t: Test, run: GuestRunResult): void {
  const lines = run.console.split('\n').filter((l) => l.startsWith('GUEST-') && !l.startsWith('GUEST-ISCSID'));
  t.comment(`guest (${run.accel}):\n${lines.join('\n')}`);
  t.notOk(run.timedOut, `guest finished within ${GUEST_TIMEOUT_MS / 1000} s`);
  for (const step of STEPS) {
    t.ok(run.ok.has(step), `GUEST-OK ${step}`, run.failed.has(step) ? { failure: run.failed.get(step) } : {});
  }
  t.equal(run.done?.fail, 0, 'guest reports no failed step');
  if (run.failed.size > 0 || run.timedOut) t.comment(run.console.slice(-6000));
}

/** The LUN the main run uses: memory (issue 9: the memory backstore passes the kernel initiator); the digest and CHAP runs keep file LUNs. */
const MAIN_BACKSTORE: 'file' | 'memory' = 'memory';

t.test(`Linux kernel initiator: discovery, login, raw I/O, ext4, fsck, logout (${MAIN_BACKSTORE} LUN)`, { skip }, async (t) => {
  if (!build?.ok) return;
  const target = await startTarget({ luns: ['256M'], backstore: MAIN_BACKSTORE });
  t.teardown(() => target.stop());
  const run = await runGuest({ dir: build.dir, port: target.port, iqn: target.iqn, timeoutMs: GUEST_TIMEOUT_MS });
  report(t, run);
  t.ok(target.alive(), 'target still running');
});

t.test('Linux kernel initiator with CRC32C header and data digests', { skip }, async (t) => {
  if (!build?.ok) return;
  const target = await startTarget({ luns: ['64M'] });
  t.teardown(() => target.stop());
  const run = await runGuest({
    dir: build.dir, port: target.port, iqn: target.iqn, digest: 'CRC32C', timeoutMs: GUEST_TIMEOUT_MS,
  });
  report(t, run);
  if (!target.external) t.match(run.console, /GUEST-NEG header_digest=(CRC32C|1)/, 'header digest negotiated');
});

const CHAP_IQN = 'iqn.2026-11.org.iscsi-sim:chap';
const CHAP = { user: 'guest-user', secret: 'guest-secret-123', mutualUser: 'target-user', mutualSecret: 'target-secret-456' };
const CHAP_CONFIG = {
  name: 'kernel-chap',
  portals: [{ address: '127.0.0.1', port: 0, portalGroupTag: 1 }],
  discoveryChap: { user: CHAP.user, secret: CHAP.secret },
  targets: [{ iqn: CHAP_IQN, portalGroupTags: [1], chap: CHAP, luns: [{ lun: 0, file: 'chap.img', size: '64M' }] }],
  cim: { enabled: false },
};

t.test('Linux kernel initiator with mutual CHAP on discovery and session', { skip }, async (t) => {
  if (!build?.ok) return;
  const target = await startTarget({ iqn: CHAP_IQN, config: CHAP_CONFIG });
  t.teardown(() => target.stop());
  const run = await runGuest({
    dir: build.dir, port: target.port, iqn: CHAP_IQN, timeoutMs: GUEST_TIMEOUT_MS,
    discoveryChap: `${CHAP.user}:${CHAP.secret}`,
    chap: `${CHAP.user}:${CHAP.secret}`, mutualChap: `${CHAP.mutualUser}:${CHAP.mutualSecret}`,
  });
  report(t, run);
  t.ok(run.ok.has('chap-config'), 'GUEST-OK chap-config');
});

t.test('Linux kernel initiator with a wrong CHAP secret is refused', { skip }, async (t) => {
  if (!build?.ok) return;
  const target = await startTarget({ iqn: CHAP_IQN, config: CHAP_CONFIG });
  t.teardown(() => target.stop());
  const run = await runGuest({
    dir: build.dir, port: target.port, iqn: CHAP_IQN, timeoutMs: GUEST_TIMEOUT_MS,
    discoveryChap: `${CHAP.user}:${CHAP.secret}`, chap: `${CHAP.user}:not-the-secret-1`,
  });
  t.notOk(run.timedOut, 'guest finished');
  t.ok(run.ok.has('discovery'), 'discovery with the right CHAP secret succeeds');
  t.ok(run.failed.has('login') && !run.ok.has('login'), 'login with the wrong secret fails');
  t.notOk(run.ok.has('disk'), 'no disk appears');
  t.ok(target.alive(), 'target still running');
});
