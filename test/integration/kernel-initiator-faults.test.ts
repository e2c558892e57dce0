/**
 * Fault injection seen by the Linux kernel initiator (issue 11, must-show 2), in the QEMU guest of
 * kernel-initiator.test.ts: `dd` of the LBA a config rule makes a MEDIUM ERROR fails (Linux returns
 * ENODATA, "No data available", for a medium error, and logs "critical medium error" with the sector)
 * while the LBAs around it read; a write where a drop-connection rule fires once still completes
 * (the initiator logs in again and the SCSI layer retries) and reads back identical.
 */
import t from 'tap';
import { buildGuest, qemuUnavailableReason, runGuest } from '../support/guest/guest.ts';
import { startSystem } from './support/system-process.ts';

const GUEST_TIMEOUT_MS = 300_000;
const IQN = 'iqn.2026-11.org.iscsi-sim:kernel-faults';
/** 512-byte LBAs; 8-aligned so a 4 KiB page holds the bad block alone. */
const BAD_FROM = 20_480;
const BAD_TO = BAD_FROM + 7;
const DROP_LBA = 40_960;
const STEPS = ['login', 'disk', 'bad-lba-fails', 'before-bad-reads', 'after-bad-reads', 'drop-write', 'drop-readback', 'relogin', 'logout'];

const qemuProblem = qemuUnavailableReason();
const build = qemuProblem ? undefined : await buildGuest();
const skip = qemuProblem ?? (build && !build.ok ? build.reason : undefined);

t.test('Linux kernel initiator: dd of the bad LBA fails (medium error), the rest reads; a dropped connection is logged in again and the write completes', { skip }, async (t) => {
  if (!build?.ok) return;
  const system = await startSystem({
    config: {
      name: 'kernel-faults',
      portals: ['127.0.0.1:0'],
      metrics: '127.0.0.1:0',
      targets: [{
        iqn: IQN,
        luns: [{
          size: '64M',
          faults: [
            { action: 'check-condition', sense: 'unrecovered-read-error', op: 'read', lba: `${BAD_FROM}-${BAD_TO}` },
            { action: 'drop-connection', op: 'write', lba: DROP_LBA, count: 1 },
          ],
        }],
      }],
    },
  });
  t.teardown(() => system.stop());
  const port = system.summary.portals[0].port;
  const run = await runGuest({ dir: build.dir, port, iqn: IQN, faults: { badLba: BAD_FROM, dropLba: DROP_LBA }, timeoutMs: GUEST_TIMEOUT_MS });
  const lines = run.console.split('\n').filter((l) => l.startsWith('GUEST-') && !l.startsWith('GUEST-ISCSID'));
  t.comment(`guest (${run.accel}):\n${lines.join('\n')}`);
  t.notOk(run.timedOut, `guest finished within ${GUEST_TIMEOUT_MS / 1000} s`);
  for (const step of STEPS) t.ok(run.ok.has(step), `GUEST-OK ${step}`, run.failed.has(step) ? { failure: run.failed.get(step) } : {});
  t.equal(run.done?.fail, 0, 'guest reports no failed step');
  if (run.failed.size > 0 || run.timedOut) t.comment(run.console.slice(-6000));

  const rules = (await (await fetch(`${system.summary.httpUrl}/api/faults`)).json()) as { rules: Array<{ id: string; fired: number }> };
  const fired = new Map(rules.rules.map((rule) => [rule.id, rule.fired]));
  t.ok((fired.get('f1') ?? 0) >= 1, `the medium error rule fired (${fired.get('f1')} times)`);
  t.equal(fired.get('f2'), 1, 'the drop-connection rule fired once');
  t.match(system.output(), /fault injection: fault rule f2 \(drop-connection\)/, 'the target logged the dropped connection');
  t.ok(system.alive(), 'target still running');
});
