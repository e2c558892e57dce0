/** Human renderings of pair status for `iscsi-sim status` and the lab's live line. */
import type { PairReport } from '../replication/status-reader.ts';

export function progressBar(percent: number, width = 30): string {
  const clamped = Math.max(0, Math.min(100, percent));
  const filled = Math.round((clamped / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${clamped.toFixed(0).padStart(3)}%`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function statusLine(report: PairReport): string {
  const { entry, status } = report;
  const route = `${entry.record.source.system}/lun${entry.record.source.lun} → ${entry.record.target.system}/lun${entry.record.target.lun}`;
  if (!status) return `${entry.record.pairId} ${route} ${entry.record.mode} admin=${entry.admin} (no recent status: is the source system running?)`;
  const parts = [
    entry.record.pairId, route, entry.record.mode, status.phase,
    status.phase === 'streaming' ? '' : progressBar(status.percentSynced, 20),
    `behind ${status.epochsBehind} epochs / ${formatBytes(status.bytesBehind)}`,
    `out of sync ${formatBytes(status.outOfSyncBytes ?? 0)}`,
    `RPO ${formatSeconds(status.rpoSeconds)}`,
    status.whenSynced ? `synced ${status.whenSynced}` : 'never synced',
    `${formatBytes(status.throughputBytesPerSecond)}/s`,
    status.link ? `link ${status.link.description}` : '',
    status.dirtyMapError ? `DIRTY MAP NOT PERSISTED (writes fail): ${status.dirtyMapError}` : '',
    status.splitBrain ? `SPLIT BRAIN (${Object.entries(status.splitBrain.changes).map(([system, grains]) => `${system} changed ${grains} grains`).join(', ')}): `
      + `nothing is overwritten until \`iscsi-sim pair resolve ${entry.record.pairId} --keep SYSTEM\`` : '',
    status.lastTransfer ? `last ${status.lastTransfer.operation} shipped ${status.lastTransfer.grains} grains / ${formatBytes(status.lastTransfer.bytes)} from ${status.lastTransfer.from}` : '',
  ];
  return parts.filter((p) => p !== '').join('  ');
}

/** RPO: 0 only when the replica holds everything; a small lag never rounds down to "0.0 s". */
export function formatSeconds(seconds: number): string {
  if (seconds === 0) return '0 s';
  if (seconds < 0.1) return '<0.1 s';
  return `${seconds.toFixed(1)} s`;
}

export function statusTable(reports: readonly PairReport[]): string {
  if (reports.length === 0) return 'no mirror pairs';
  return reports.map(statusLine).join('\n');
}
