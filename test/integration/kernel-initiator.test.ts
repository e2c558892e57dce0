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

t.test('Linux kernel initiator: discovery, login, raw I/O, ext4, fsck, logout', { skip }, async (t) => {
  if (!build?.ok) return;
  const target = await startTarget({ luns: ['256M'] });
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
