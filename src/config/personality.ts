/**
 * The device personality of one LUN (issue 11): what the LU says it is (INQUIRY vendor / product /
 * revision), a removable medium, 512e physical blocks, and SANITIZE. Read from the LUN's own fields;
 * every error names the field.
 */
import { Fields } from './fields.ts';
import type { DevicePersonality, SanitizeConfig } from './types.ts';

export const PERSONALITY_KEYS = ['vendor', 'product', 'revision', 'removable', 'physicalBlockSize', 'sanitize'] as const;

/** INQUIRY field widths (SPC-4 §6.6.2): T10 VENDOR IDENTIFICATION, PRODUCT IDENTIFICATION, PRODUCT REVISION LEVEL. */
const INQUIRY_TEXT = { vendor: 8, product: 16, revision: 4 } as const;
/** LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT is 4 bits (SBC-4 §5.20.2). */
const MAX_EXPONENT = 15;

function inquiryText(fields: Fields, key: keyof typeof INQUIRY_TEXT): string | undefined {
  const text = fields.optionalString(key);
  if (text === undefined) return undefined;
  const width = INQUIRY_TEXT[key];
  if (!/^[\x20-\x7e]+$/.test(text)) fields.fail(key, `"${text}" must be printable ASCII (INQUIRY data)`);
  if (text.length > width) fields.fail(key, `"${text}" is ${text.length} characters; INQUIRY has room for ${width}`);
  return text;
}

function sanitize(fields: Fields): SanitizeConfig | undefined {
  const value = fields.raw('sanitize');
  if (value === undefined || value === false) return undefined;
  if (value === true) return { seconds: 0 };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fields.fail('sanitize', 'expected true, false or {seconds}');
  }
  const inner = Fields.of(value, fields.at('sanitize'), ['seconds']);
  return { seconds: inner.integer('seconds', 0, 3600, 0) };
}

/** The personality fields of a LUN; absent fields keep the defaults (a fixed, 512n, non-sanitizing disk). */
export function devicePersonality(fields: Fields, blockSize: number): DevicePersonality {
  const personality: { -readonly [K in keyof DevicePersonality]: DevicePersonality[K] } = {};
  for (const key of ['vendor', 'product', 'revision'] as const) {
    const text = inquiryText(fields, key);
    if (text !== undefined) personality[key] = text;
  }
  if (fields.boolean('removable', false)) personality.removable = true;
  if (fields.has('physicalBlockSize')) {
    const size = fields.optionalInteger('physicalBlockSize', blockSize, blockSize * 2 ** MAX_EXPONENT)!;
    const ratio = size / blockSize;
    if (!Number.isInteger(ratio) || (ratio & (ratio - 1)) !== 0) {
      fields.fail('physicalBlockSize', `${size} is not the block size ${blockSize} times a power of two (4096 with 512-byte blocks is 512e)`);
    }
    if (ratio > 1) personality.physicalBlockExponent = Math.log2(ratio);
  }
  const sanitizeConfig = sanitize(fields);
  if (sanitizeConfig !== undefined) personality.sanitize = sanitizeConfig;
  return personality;
}
