/** Sizes as people write them: 512, 64K, 1G, 10T (binary multiples), optionally with B or iB. */

const MULTIPLIERS: Readonly<Record<string, number>> = {
  '': 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
};

const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:I?B)?$/;

/** Bytes for a size string or number; undefined when it is not a whole, safe number of bytes. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = SIZE_PATTERN.exec(value.trim().toUpperCase());
  if (match === null) return undefined;
  const bytes = Number(match[1]) * MULTIPLIERS[match[2]];
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** The shortest exact form: 1073741824 → "1G", 1536 → "1536". */
export function formatSize(bytes: number): string {
  for (const unit of ['P', 'T', 'G', 'M', 'K']) {
    const multiplier = MULTIPLIERS[unit];
    if (bytes >= multiplier && bytes % multiplier === 0) return `${bytes / multiplier}${unit}`;
  }
  return String(bytes);
}
