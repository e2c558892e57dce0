/**
 * What an emulated replication link does to a pair's shipping path (the WAN between two sites):
 * partitioned (nothing crosses), added one-way latency per transmission, a bandwidth cap on payload
 * bytes, and loss (a lost transmission is sent again after a retransmission timeout). The shapes here
 * are the HTTP API's (`POST /api/links/PAIR`), validated with errors naming the field; the human forms
 * (`20MB/s`, `50ms`, `1%`) are parsed for the CLI and scenario files.
 */

export interface LinkConditions {
  readonly partitioned: boolean;
  /** Added one-way delay of every transmission, ms (0: none). */
  readonly latencyMs: number;
  /** Payload bytes per second the link carries (undefined: no cap). */
  readonly rateBytesPerSecond?: number;
  /** Probability that one transmission is lost (0 ≤ p < 1); a lost one is retransmitted. */
  readonly loss: number;
}

/** A change to a pair's link: only the fields given change; `rateBytesPerSecond: null` removes the cap. */
export interface LinkChange {
  readonly partitioned?: boolean;
  readonly latencyMs?: number;
  readonly rateBytesPerSecond?: number | null;
  readonly loss?: number;
}

export const CLEAR_LINK: LinkConditions = { partitioned: false, latencyMs: 0, loss: 0 };

/** Above this an added latency would only trip the stall watchdog; a typo more likely. */
export const MAX_LATENCY_MS = 60_000;

export class LinkInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'LinkInputError';
  }
}

export function isClear(conditions: LinkConditions): boolean {
  return !conditions.partitioned && conditions.latencyMs === 0 && conditions.rateBytesPerSecond === undefined && conditions.loss === 0;
}

export function applyChange(conditions: LinkConditions, change: LinkChange): LinkConditions {
  const rate = change.rateBytesPerSecond === undefined ? conditions.rateBytesPerSecond : change.rateBytesPerSecond ?? undefined;
  return {
    partitioned: change.partitioned ?? conditions.partitioned,
    latencyMs: change.latencyMs ?? conditions.latencyMs,
    ...(rate === undefined ? {} : { rateBytesPerSecond: rate }),
    loss: change.loss ?? conditions.loss,
  };
}

/** Validates a change as the HTTP API receives it (JSON); throws LinkInputError naming the field. */
export function parseLinkChange(body: unknown, where = ''): LinkChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new LinkInputError(where || 'body', 'must be a JSON object');
  const input = body as Record<string, unknown>;
  const known = new Set(['partitioned', 'latencyMs', 'rateBytesPerSecond', 'loss']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new LinkInputError(`${where}${key}`, `unknown field (known: ${[...known].join(', ')})`);
  }
  const change: { -readonly [K in keyof LinkChange]: LinkChange[K] } = {};
  if (input.partitioned !== undefined) {
    if (typeof input.partitioned !== 'boolean') throw new LinkInputError(`${where}partitioned`, 'must be true or false');
    change.partitioned = input.partitioned;
  }
  if (input.latencyMs !== undefined) change.latencyMs = checkLatency(input.latencyMs, `${where}latencyMs`);
  if (input.rateBytesPerSecond !== undefined) {
    change.rateBytesPerSecond = input.rateBytesPerSecond === null ? null : checkRate(input.rateBytesPerSecond, `${where}rateBytesPerSecond`);
  }
  if (input.loss !== undefined) change.loss = checkLoss(input.loss, `${where}loss`);
  return change;
}

function checkLatency(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new LinkInputError(field, `must be a number of milliseconds ≥ 0, got ${JSON.stringify(value)}`);
  if (value > MAX_LATENCY_MS) throw new LinkInputError(field, `at most ${MAX_LATENCY_MS} ms, got ${value}`);
  return value;
}

function checkRate(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new LinkInputError(field, `must be bytes per second (a number), got ${JSON.stringify(value)}`);
  if (value <= 0) throw new LinkInputError(field, `a rate of ${value} carries nothing: use a partition for that, or remove the cap (null)`);
  if (value < 1024) throw new LinkInputError(field, `at least 1 KiB/s (1024 bytes/s), got ${value}`);
  return Math.floor(value);
}

function checkLoss(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new LinkInputError(field, `must be a probability 0 ≤ p < 1 (1 would be a partition), got ${JSON.stringify(value)}`);
  }
  return value;
}

const RATE_UNITS: Readonly<Record<string, number>> = {
  'B': 1, 'KB': 1e3, 'MB': 1e6, 'GB': 1e9, 'KIB': 1024, 'MIB': 1024 ** 2, 'GIB': 1024 ** 3,
  'BIT': 1 / 8, 'KBIT': 1e3 / 8, 'MBIT': 1e6 / 8, 'GBIT': 1e9 / 8,
};

/**
 * "20MB/s" (decimal, as links are sold), "16MiB/s", "100Mbit/s", a bare number of bytes/s; "off" or
 * "none" → null (no cap). Throws LinkInputError naming `field`.
 */
export function parseRate(text: string | number, field = 'rate'): number | null {
  if (typeof text === 'number') return checkRate(text, field);
  const trimmed = text.trim();
  if (/^(off|none)$/i.test(trimmed)) return null;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s|ps)?$/i.exec(trimmed);
  const unit = match?.[2] === '' ? 'B' : match?.[2]?.toUpperCase();
  const multiplier = unit === undefined ? undefined : RATE_UNITS[unit];
  if (!match || multiplier === undefined) throw new LinkInputError(field, `"${text}" is not a rate (e.g. 20MB/s, 16MiB/s, 100Mbit/s, or off)`);
  return checkRate(Number(match[1]) * multiplier, field);
}

/** "50ms", "1.5s", "50" (ms). Throws LinkInputError naming `field`. */
export function parseLatency(text: string | number, field = 'latency'): number {
  if (typeof text === 'number') return checkLatency(text, field);
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/i.exec(text.trim());
  if (!match) throw new LinkInputError(field, `"${text}" is not a duration (e.g. 50ms, 1.5s)`);
  return checkLatency(Number(match[1]) * (match[2]?.toLowerCase() === 's' ? 1000 : 1), field);
}

/** "1%", "0.01". Throws LinkInputError naming `field`. */
export function parseLoss(text: string | number, field = 'loss'): number {
  if (typeof text === 'number') return checkLoss(text, field);
  const match = /^(\d+(?:\.\d+)?)\s*(%)?$/.exec(text.trim());
  if (!match) throw new LinkInputError(field, `"${text}" is not a probability (e.g. 0.01 or 1%)`);
  return checkLoss(Number(match[1]) / (match[2] ? 100 : 1), field);
}

/** One line for status and logs: "partitioned, +50 ms, 20.0 MB/s, loss 1%" or "clear". */
export function describeLink(conditions: LinkConditions): string {
  if (isClear(conditions)) return 'clear';
  const parts: string[] = [];
  if (conditions.partitioned) parts.push('PARTITIONED');
  if (conditions.latencyMs > 0) parts.push(`+${conditions.latencyMs} ms`);
  if (conditions.rateBytesPerSecond !== undefined) parts.push(`cap ${(conditions.rateBytesPerSecond / 1e6).toFixed(1)} MB/s`);
  if (conditions.loss > 0) parts.push(`loss ${+(conditions.loss * 100).toFixed(3)}%`);
  return parts.join(', ');
}
