/**
 * A system's own Prometheus metrics (prom-client), for every serve: per-LUN read/write bytes and
 * operations and latency histograms, sessions per target, EXTENDED COPY counters, readiness, and the
 * process metrics of prom-client's default collectors. Totals are read from the system at scrape
 * time; latencies are observed as each read/write completes. The SCSI and iSCSI layers keep plain
 * counters and never see prom-client.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IoCompletion } from '../scsi/io-counters.ts';
import type { LunIoSnapshot, Readiness, TargetCountersSnapshot } from '../system/system.ts';
import type { SessionInfo } from '../system/session-info.ts';
import type { TargetView } from '../system/view.ts';

/** What the metrics read of a running system (System implements it). */
export interface MetricsSource {
  readonly name: string;
  readonly targets: readonly TargetView[];
  lunIo(): LunIoSnapshot[];
  observeIo(listener: (targetIqn: string, completion: IoCompletion) => void): () => void;
  sessions(): SessionInfo[];
  counters(): TargetCountersSnapshot[];
  readiness(): Readiness;
}

/** Seconds: 100 µs (page cache) to 2.5 s (a stalled disk). */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type LunTotal = 'readBytes' | 'writeBytes' | 'readOps' | 'writeOps' | 'errors';

const LUN_COUNTERS: ReadonlyArray<[string, string, LunTotal]> = [
  ['iscsi_sim_lun_read_bytes_total', 'Bytes of the blocks read by READ commands that completed GOOD', 'readBytes'],
  ['iscsi_sim_lun_write_bytes_total', 'Bytes of the blocks written by WRITE, WRITE AND VERIFY, WRITE SAME, WRITE ATOMIC and COMPARE AND WRITE commands that completed GOOD', 'writeBytes'],
  ['iscsi_sim_lun_read_operations_total', 'READ commands that completed GOOD', 'readOps'],
  ['iscsi_sim_lun_write_operations_total', 'Medium-writing commands (as in write_bytes) that completed GOOD', 'writeOps'],
  ['iscsi_sim_lun_io_errors_total', 'Read or write commands that ended in anything but GOOD', 'errors'],
];

export interface SystemMetrics {
  readonly registry: Registry;
  /** Stops observing completions. */
  close(): void;
}

export function systemMetrics(system: MetricsSource, registry = new Registry()): SystemMetrics {
  collectDefaultMetrics({ register: registry });
  for (const [name, help, field] of LUN_COUNTERS) {
    new Counter({
      name, help, labelNames: ['target', 'lun'], registers: [registry],
      collect() {
        this.reset();
        for (const io of system.lunIo()) this.inc({ target: io.targetIqn, lun: String(io.lun) }, io[field]);
      },
    });
  }

  const latency = new Histogram({
    name: 'iscsi_sim_lun_io_latency_seconds',
    help: 'Time from dispatch to response of read and write commands, per LUN',
    labelNames: ['target', 'lun', 'op'], buckets: LATENCY_BUCKETS, registers: [registry],
  });
  // One child per target/LUN/op made up front: the per-command path does two map lookups, no label objects.
  const children = new Map<string, Map<number, Record<'read' | 'write', ReturnType<typeof latency.labels>>>>();
  for (const target of system.targets) {
    const luns = new Map<number, Record<'read' | 'write', ReturnType<typeof latency.labels>>>();
    for (const lun of target.luns) {
      luns.set(lun.lun, { read: latency.labels(target.iqn, String(lun.lun), 'read'), write: latency.labels(target.iqn, String(lun.lun), 'write') });
    }
    children.set(target.iqn, luns);
  }
  const stopObserving = system.observeIo((iqn, completion) => {
    children.get(iqn)?.get(completion.lun)?.[completion.kind].observe(completion.seconds);
  });

  new Gauge({
    name: 'iscsi_sim_sessions', help: 'iSCSI sessions logged in, per target (type: normal or discovery)',
    labelNames: ['target', 'type'], registers: [registry],
    collect() {
      this.reset();
      for (const target of system.targets) this.set({ target: target.iqn, type: 'normal' }, 0);
      this.set({ target: '', type: 'discovery' }, 0);
      for (const session of system.sessions()) {
        this.inc(session.target === undefined ? { target: '', type: 'discovery' } : { target: session.target, type: 'normal' });
      }
    },
  });

  for (const [name, help, field] of [
    ['iscsi_sim_xcopy_operations_total', 'EXTENDED COPY operations completed (copy offload)', 'count'],
    ['iscsi_sim_xcopy_bytes_total', 'Bytes moved by completed EXTENDED COPY operations', 'bytes'],
  ] as const) {
    new Counter({
      name, help, labelNames: ['target'], registers: [registry],
      collect() {
        this.reset();
        for (const target of system.counters()) this.inc({ target: target.iqn }, target.copyOperations[field]);
      },
    });
  }

  new Gauge({
    name: 'iscsi_sim_system_ready', help: '1 when every portal listens (see /healthz for what is not ready)',
    labelNames: ['system'], registers: [registry],
    collect() {
      this.set({ system: system.name }, system.readiness().ready ? 1 : 0);
    },
  });

  return { registry, close: stopObserving };
}
