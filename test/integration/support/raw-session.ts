/** Logs the raw test initiator (test/support/iscsi-wire) into a target of a running `iscsi-sim serve`. */
import { TestSession } from '../../support/iscsi-wire/session.ts';
import type { RunningSystem } from './system-process.ts';

export async function rawSession(system: RunningSystem, options: { targetIndex?: number; initiatorName?: string } = {}): Promise<TestSession> {
  const portal = system.summary.portals[0];
  const session = await TestSession.login(portal.address, portal.port, {
    targetName: system.summary.targets[options.targetIndex ?? 0].iqn,
    ...(options.initiatorName === undefined ? {} : { initiatorName: options.initiatorName }),
  });
  await session.readCapacity();
  return session;
}
