/** A fake running system for the metrics and dashboard unit tests: one target, one LUN, settable totals. */
import type { DashboardSystem } from '../../../src/metrics/dashboard/system-state.ts';
import type { IoCompletion } from '../../../src/scsi/io-counters.ts';
import type { SessionInfo } from '../../../src/system/session-info.ts';

export const IQN = 'iqn.2026-11.org.example:a';

export function fakeSource(): DashboardSystem & { listening: boolean; complete(c: IoCompletion): void; sessionList: SessionInfo[] } {
  let listener: ((iqn: string, c: IoCompletion) => void) | undefined;
  const totals = { readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0, errors: 0 };
  const source = {
    name: 'sim',
    listening: true,
    sessionList: [] as SessionInfo[],
    portals: [{ address: '::1', port: 3260, portalGroupTag: 1, listening: true }],
    targets: [{ iqn: IQN, portalGroupTags: [1], luns: [{ lun: 0, sizeBytes: 1 << 20, blockSize: 512, naa: '6001405000000001', writeProtected: false }] }] as unknown as DashboardSystem['targets'],
    lunIo: () => [{ targetIqn: IQN, lun: 0, ...totals }],
    observeIo(l: (iqn: string, c: IoCompletion) => void) { listener = l; return () => { listener = undefined; }; },
    complete(c: IoCompletion) {
      if (c.kind === 'write') { totals.writeOps += 1; totals.writeBytes += c.bytes; }
      listener?.(IQN, c);
    },
    sessions: () => source.sessionList,
    counters: () => [{ iqn: IQN, copyOperations: { count: 1, bytes: 4096 } }],
    readiness: () => (source.listening ? { ready: true, problems: [] } : { ready: false, problems: ['portal 127.0.0.1:3260 is not listening'] }),
  };
  return source;
}
