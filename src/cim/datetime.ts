/** CIM datetime strings (DSP0004 §5.2.4): timestamps and intervals. */

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `yyyymmddhhmmss.mmmmmm+000` in UTC. */
export function cimTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds() * 1000, 6)}+000`;
}

/** `ddddddddhhmmss.mmmmmm:000`. */
export function cimInterval(ms: number): string {
  const total = Math.max(0, Math.floor(ms));
  const days = Math.floor(total / 86_400_000);
  const rest = total % 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  const m = Math.floor((rest % 3_600_000) / 60_000);
  const s = Math.floor((rest % 60_000) / 1000);
  return `${pad(days, 8)}${pad(h, 2)}${pad(m, 2)}${pad(s, 2)}.${pad((rest % 1000) * 1000, 6)}:000`;
}
