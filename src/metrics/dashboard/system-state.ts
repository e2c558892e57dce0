/**
 * One running system as the dashboard shows it: portals, targets and LUNs with I/O rates (from the
 * running totals, per second since the previous collection), sessions, readiness, the mirror pairs it
 * knows (from the replication engine, when it runs) and its active faults (when it has fault
 * injection). Between collections the pairs are sampled four times a second and the highest RPO and
 * bytes behind are kept, so a burst shorter than a second still shows on the plots.
 */
import { formatHostPort } from '../../config/portal-address.ts';
import type { PortalView } from '../../system/view.ts';
import type { MetricsSource } from '../system-metrics.ts';
import type { LunState, PairState, SystemState } from './dashboard-types.ts';

/** What the dashboard reads of a running system (System implements it). */
export interface DashboardSystem extends MetricsSource {
  readonly portals: readonly PortalView[];
}

/** The fields of the replication engine's PairStatus that the dashboard shows (structurally the same). */
export interface ObservedPair {
  readonly pairId: string;
  readonly record: {
    readonly source: { readonly system: string; readonly targetIqn: string; readonly lun: number };
    readonly target: { readonly system: string; readonly targetIqn: string; readonly lun: number };
    readonly mode: string;
  };
  readonly role: 'source' | 'target';
  readonly phase: string;
  readonly percentSynced: number;
  readonly rpoSeconds: number;
  readonly bytesBehind: number;
  readonly throughputBytesPerSecond: number;
  readonly lagKnown?: boolean;
  readonly splitBrain?: PairState['splitBrain'];
  readonly lastTransfer?: PairState['lastTransfer'];
  readonly dirtyMapError?: string;
  readonly link?: { readonly description: string };
}

export interface SystemStateSources {
  readonly system: DashboardSystem;
  /** The replication engine's pairs, when replication runs. */
  readonly pairs?: () => readonly ObservedPair[];
  /** The system's fault rules, when it has fault injection. */
  readonly faults?: () => SystemState['faults'];
  /** @defaultValue 250 */
  readonly peakSampleMs?: number;
}

interface Totals { readonly readBytes: number; readonly writeBytes: number; readonly readOps: number; readonly writeOps: number }

export class SystemStateCollector {
  private previous: { at: number; totals: Map<string, Totals> } | undefined;
  private readonly peaks = new Map<string, { rpoSeconds: number; bytesBehind: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sources: SystemStateSources) {
    if (sources.pairs) {
      this.timer = setInterval(() => this.samplePeaks(), sources.peakSampleMs ?? 250);
      this.timer.unref();
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  collect(now = Date.now()): SystemState {
    const { system } = this.sources;
    const readiness = system.readiness();
    const totals = new Map<string, Totals>(system.lunIo().map((io) => [`${io.targetIqn}/${io.lun}`, io]));
    const seconds = this.previous ? (now - this.previous.at) / 1000 : 0;
    const before = this.previous?.totals;
    this.previous = { at: now, totals };
    const rate = (key: string, field: keyof Totals): number => {
      const was = before?.get(key)?.[field];
      const is = totals.get(key)?.[field];
      return was === undefined || is === undefined || !(seconds > 0) ? 0 : Math.max(0, is - was) / seconds;
    };
    this.samplePeaks();
    const pairs = (this.sources.pairs?.() ?? []).map((pair) => this.pairState(pair));
    this.peaks.clear();
    const faults = this.sources.faults?.();
    return {
      name: system.name,
      reachable: true,
      ready: readiness.ready,
      problems: readiness.problems,
      portals: system.portals.map((p) => ({ hostPort: formatHostPort(p.address, p.port), portalGroupTag: p.portalGroupTag, listening: p.listening })),
      targets: system.targets.map((target) => ({
        iqn: target.iqn,
        ...(target.alias === undefined ? {} : { alias: target.alias }),
        luns: target.luns.map((lun): LunState => {
          const key = `${target.iqn}/${lun.lun}`;
          return {
            lun: lun.lun, sizeBytes: lun.sizeBytes, blockSize: lun.blockSize, naa: lun.naa,
            ...(lun.file === undefined ? {} : { file: lun.file }),
            writeProtected: lun.writeProtected,
            readBytesPerSecond: rate(key, 'readBytes'), writeBytesPerSecond: rate(key, 'writeBytes'),
            readOpsPerSecond: rate(key, 'readOps'), writeOpsPerSecond: rate(key, 'writeOps'),
          };
        }),
      })),
      sessions: system.sessions(),
      pairs,
      ...(faults === undefined ? {} : { faults }),
    };
  }

  /** One reading of the pairs' lag between collections (the timer's; tests call it). */
  samplePeaks(): void {
    for (const pair of this.sources.pairs?.() ?? []) {
      const peak = this.peaks.get(pair.pairId);
      this.peaks.set(pair.pairId, {
        rpoSeconds: Math.max(peak?.rpoSeconds ?? 0, finite(pair.rpoSeconds)),
        bytesBehind: Math.max(peak?.bytesBehind ?? 0, finite(pair.bytesBehind)),
      });
    }
  }

  private pairState(pair: ObservedPair): PairState {
    const peak = this.peaks.get(pair.pairId);
    const address = (a: ObservedPair['record']['source']) => `${a.system}:${a.targetIqn}/${a.lun}`;
    return {
      pairId: pair.pairId,
      source: address(pair.record.source),
      target: address(pair.record.target),
      mode: pair.record.mode,
      phase: pair.phase,
      role: pair.role,
      reportedBy: this.sources.system.name,
      percentSynced: pair.percentSynced,
      rpoSeconds: Math.max(peak?.rpoSeconds ?? 0, finite(pair.rpoSeconds)),
      bytesBehind: Math.max(peak?.bytesBehind ?? 0, finite(pair.bytesBehind)),
      throughputBytesPerSecond: finite(pair.throughputBytesPerSecond),
      lagKnown: pair.lagKnown !== false,
      ...(pair.splitBrain ? { splitBrain: pair.splitBrain } : {}),
      ...(pair.lastTransfer ? { lastTransfer: pair.lastTransfer } : {}),
      ...(pair.dirtyMapError ? { dirtyMapError: pair.dirtyMapError } : {}),
      ...(pair.link ? { link: pair.link.description } : {}),
    };
  }
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
