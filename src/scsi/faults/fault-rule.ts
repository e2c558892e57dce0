/**
 * A fault rule: when it matches (what command, which LBAs, which initiator, how often, when) and what
 * it does (scsi_debug, dm-flakey, dm-delay and dm-dust rehearsed per LUN). Rules arrive as JSON (the
 * `faults:` list of a LUN in the config, POST /api/faults, `iscsi-sim fault add`) in one flat shape:
 *
 *   { action: 'check-condition', sense: 'unrecovered-read-error', op: 'read', lba: '1000-1009' }
 *   { action: 'delay', delayMs: 50, jitterMs: 10, op: 'write', every: 2 }
 *   { action: 'no-response', opcodes: ['0x28'], count: 1 }
 *
 * validateFaultRule checks one against the LUN it is for; every problem names the field.
 */
import { describe, Fields } from '../../config/fields.ts';
import { ConfigError } from '../../config/errors.ts';
import { isSenseReason, SENSE_REASONS, senseCodes, type SenseReason } from '../sense.ts';

export const FAULT_ACTIONS = [
  'check-condition', 'busy', 'task-set-full', 'delay', 'no-response', 'drop-connection', 'drop-writes', 'bad-blocks', 'thin-exhaustion',
] as const;
export type FaultActionKind = typeof FAULT_ACTIONS[number];

/** Actions the storage decorator performs (faulty-backstore.ts); it sees no opcode and no initiator. */
export const STORAGE_ACTIONS: readonly FaultActionKind[] = ['drop-writes', 'bad-blocks'];

export const FAULT_OPS = ['read', 'write', 'any'] as const;
export type FaultOp = typeof FAULT_OPS[number];

/** An inclusive LBA range. */
export interface LbaRange {
  readonly from: number;
  readonly to: number;
}

export interface FaultMatch {
  /** read = commands that read the medium, write = commands that write it, any = every command. */
  readonly op: FaultOp;
  readonly opcodes?: readonly number[];
  /** Matches commands whose LBA range overlaps this one (commands without an LBA never match). */
  readonly lba?: LbaRange;
  /** Only commands from this initiator (its iSCSI name). */
  readonly initiator?: string;
  /** Skip the first N matching commands (scsi_debug's negative every_nth). */
  readonly afterCommands?: number;
  /** Fire on every Nth matching command (after afterCommands). */
  readonly every?: number;
  /** Fire with this probability (0 < p ≤ 1). */
  readonly probability?: number;
  /** Active from this many seconds after the rule was added ... */
  readonly startAfterSeconds?: number;
  /** ... for this many seconds (then the rule stays listed but never fires). */
  readonly durationSeconds?: number;
  /** Fire at most this many times. */
  readonly count?: number;
}

export interface RawSense {
  /** The sense name when given by name (SENSE_TABLE in ../sense.ts). */
  readonly name?: SenseReason;
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
}

export type FaultAction =
  | { readonly kind: 'check-condition'; readonly sense: RawSense }
  | { readonly kind: 'busy' }
  | { readonly kind: 'task-set-full' }
  | { readonly kind: 'delay'; readonly delayMs: number; readonly jitterMs: number }
  | { readonly kind: 'no-response' }
  | { readonly kind: 'drop-connection' }
  | { readonly kind: 'drop-writes' }
  /** dm-dust: the rule's LBAs fail reads with MEDIUM ERROR until each is rewritten. */
  | { readonly kind: 'bad-blocks' }
  /** The pool fills with the blocks written while the rule is on: UA at the soft threshold, then writes fail. */
  | { readonly kind: 'thin-exhaustion'; readonly softThresholdBlocks: number; readonly limitBlocks: number };

export interface FaultRuleSpec {
  readonly match: FaultMatch;
  readonly action: FaultAction;
  /** Free text shown in listings and logs. */
  readonly note?: string;
}

/** The LUN a rule is checked against. */
export interface FaultLunShape {
  readonly blocks: number;
}

const MATCH_KEYS = ['op', 'opcodes', 'lba', 'initiator', 'afterCommands', 'every', 'probability', 'startAfterSeconds', 'durationSeconds', 'count'];
const ACTION_KEYS: Record<FaultActionKind, readonly string[]> = {
  'check-condition': ['sense', 'key', 'asc', 'ascq'],
  busy: [],
  'task-set-full': [],
  delay: ['delayMs', 'jitterMs'],
  'no-response': [],
  'drop-connection': [],
  'drop-writes': [],
  'bad-blocks': [],
  'thin-exhaustion': ['softThresholdBlocks', 'limitBlocks'],
};
const ALL_ACTION_KEYS = [...new Set(Object.values(ACTION_KEYS).flat())];
const MAX_DELAY_MS = 10 * 60 * 1000;

/**
 * A rule from its JSON form. `path` prefixes field names in errors (`targets[0].luns[0].faults[2]`,
 * or '' for the API); `extraKeys` are keys the caller reads itself (target, lun). Throws ConfigError.
 */
export function validateFaultRule(input: unknown, lun: FaultLunShape, path = '', extraKeys: readonly string[] = []): FaultRuleSpec {
  const fields: Fields = Fields.of(input, path, ['action', 'note', ...MATCH_KEYS, ...ALL_ACTION_KEYS, ...extraKeys]);
  const actionName = fields.string('action');
  const kind = FAULT_ACTIONS.find((known) => known === actionName);
  if (kind === undefined) fields.fail('action', `"${actionName}" is not a fault action (known: ${FAULT_ACTIONS.join(', ')})`);
  for (const key of ALL_ACTION_KEYS) {
    if (fields.has(key) && !ACTION_KEYS[kind].includes(key)) fields.fail(key, `does not apply to action ${kind}`);
  }
  const match = faultMatch(fields, lun, kind);
  const note = fields.optionalString('note');
  return { match, action: faultAction(fields, kind, lun), ...(note === undefined ? {} : { note }) };
}

function faultMatch(fields: Fields, lun: FaultLunShape, kind: FaultActionKind): FaultMatch {
  const opText = fields.optionalString('op') ?? defaultOp(kind);
  const op = FAULT_OPS.find((known) => known === opText);
  if (op === undefined) fields.fail('op', `"${opText}" is not read, write or any`);
  if ((kind === 'drop-writes' || kind === 'thin-exhaustion') && op !== 'write') fields.fail('op', `action ${kind} only applies to writes (op: write)`);
  if (kind === 'bad-blocks' && op !== 'read') fields.fail('op', 'bad blocks fail reads and heal on writes (op: read)');
  const storage = STORAGE_ACTIONS.includes(kind);
  if (storage) {
    for (const key of ['opcodes', 'initiator']) if (fields.has(key)) fields.fail(key, `action ${kind} happens in the backstore, which sees no ${key === 'opcodes' ? 'opcode' : 'initiator'}`);
  }
  const lba = lbaRange(fields, lun);
  if (kind === 'bad-blocks' && lba === undefined) fields.fail('lba', 'is required for bad-blocks (the blocks that are bad)');
  const probability = optionalNumber(fields, 'probability');
  if (probability !== undefined && !(probability > 0 && probability <= 1)) fields.fail('probability', `${probability} is outside (0, 1]`);
  const every = fields.optionalInteger('every', 1, Number.MAX_SAFE_INTEGER);
  const startAfterSeconds = optionalNumber(fields, 'startAfterSeconds');
  if (startAfterSeconds !== undefined && startAfterSeconds < 0) fields.fail('startAfterSeconds', `${startAfterSeconds} is negative`);
  const durationSeconds = optionalNumber(fields, 'durationSeconds');
  if (durationSeconds !== undefined && !(durationSeconds > 0)) fields.fail('durationSeconds', `${durationSeconds} must be more than 0`);
  const opcodes = opcodeList(fields);
  const initiator = fields.optionalString('initiator');
  const afterCommands = fields.optionalInteger('afterCommands', 0, Number.MAX_SAFE_INTEGER);
  const count = fields.optionalInteger('count', 1, Number.MAX_SAFE_INTEGER);
  return {
    op,
    ...(opcodes === undefined ? {} : { opcodes }),
    ...(lba === undefined ? {} : { lba }),
    ...(initiator === undefined ? {} : { initiator }),
    ...(afterCommands === undefined ? {} : { afterCommands }),
    ...(every === undefined ? {} : { every }),
    ...(probability === undefined ? {} : { probability }),
    ...(startAfterSeconds === undefined ? {} : { startAfterSeconds }),
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(count === undefined ? {} : { count }),
  };
}

function defaultOp(kind: FaultActionKind): FaultOp {
  if (kind === 'drop-writes' || kind === 'thin-exhaustion') return 'write';
  if (kind === 'bad-blocks') return 'read';
  return 'any';
}

function faultAction(fields: Fields, kind: FaultActionKind, lun: FaultLunShape): FaultAction {
  switch (kind) {
    case 'check-condition':
      return { kind, sense: sense(fields) };
    case 'delay': {
      const delayMs = fields.optionalInteger('delayMs', 1, MAX_DELAY_MS);
      if (delayMs === undefined) fields.fail('delayMs', 'is required for a delay (milliseconds, 1..600000)');
      return { kind, delayMs, jitterMs: fields.integer('jitterMs', 0, MAX_DELAY_MS, 0) };
    }
    case 'thin-exhaustion': {
      const limitBlocks = fields.optionalInteger('limitBlocks', 1, Number.MAX_SAFE_INTEGER);
      if (limitBlocks === undefined) fields.fail('limitBlocks', 'is required (blocks the pool can still take)');
      if (limitBlocks > lun.blocks) fields.fail('limitBlocks', `${limitBlocks} is more than the LUN's ${lun.blocks} blocks`);
      const softThresholdBlocks = fields.integer('softThresholdBlocks', 0, Number.MAX_SAFE_INTEGER, Math.floor(limitBlocks * 0.8));
      if (softThresholdBlocks >= limitBlocks) fields.fail('softThresholdBlocks', `${softThresholdBlocks} must be below limitBlocks (${limitBlocks})`);
      return { kind, softThresholdBlocks, limitBlocks };
    }
    default:
      return { kind };
  }
}

/** `sense: NAME` from the sense table, or raw `key` + `asc` + `ascq`. */
function sense(fields: Fields): RawSense {
  const name = fields.optionalString('sense');
  if (name !== undefined) {
    for (const key of ['key', 'asc', 'ascq']) if (fields.has(key)) fields.fail(key, 'give either sense (a name) or key/asc/ascq, not both');
    if (!isSenseReason(name)) fields.fail('sense', `unknown sense name "${name}" (known: ${SENSE_REASONS.join(', ')})`);
    return { name, ...senseCodes(name) };
  }
  if (!fields.has('key')) fields.fail('sense', 'is required for check-condition (a name such as unrecovered-read-error, or key/asc/ascq)');
  return { key: byteField(fields, 'key', 0x0f), asc: byteField(fields, 'asc', 0xff), ascq: byteField(fields, 'ascq', 0xff) };
}

function byteField(fields: Fields, key: string, max: number): number {
  const value = numberOrHex(fields.raw(key));
  if (value === undefined || !Number.isInteger(value) || value < 0 || value > max) {
    fields.fail(key, `${describe(fields.raw(key))} is not a number 0..0x${max.toString(16)}`);
  }
  return value;
}

function opcodeList(fields: Fields): number[] | undefined {
  const raw = fields.raw('opcodes');
  if (raw === undefined) return undefined;
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [raw];
  if (items.length === 0) fields.fail('opcodes', 'must name at least one opcode');
  return items.map((item) => {
    const value = numberOrHex(item);
    if (value === undefined || !Number.isInteger(value) || value < 0 || value > 0xff) fields.fail('opcodes', `${describe(item)} is not an opcode 0..0xff`);
    return value;
  });
}

/** `lba: 1000`, `lba: "1000-1009"` or `lba: {from: 1000, to: 1009}` (inclusive), within the LUN. */
function lbaRange(fields: Fields, lun: FaultLunShape): LbaRange | undefined {
  const raw = fields.raw('lba');
  if (raw === undefined) return undefined;
  let from: number | undefined;
  let to: number | undefined;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const range: Fields = Fields.of(raw, fields.at('lba'), ['from', 'to']);
    from = range.optionalInteger('from', 0, Number.MAX_SAFE_INTEGER);
    to = range.optionalInteger('to', 0, Number.MAX_SAFE_INTEGER) ?? from;
  } else if (typeof raw === 'number' || typeof raw === 'string') {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(String(raw));
    if (match !== null) {
      from = Number(match[1]);
      to = match[2] === undefined ? from : Number(match[2]);
    }
  }
  if (from === undefined || to === undefined || !Number.isSafeInteger(from) || !Number.isSafeInteger(to)) {
    fields.fail('lba', `${describe(raw)} is not an LBA or range (1000, "1000-1009" or {from, to})`);
  }
  if (to < from) fields.fail('lba', `range ${from}-${to} ends before it starts`);
  if (to >= lun.blocks) fields.fail('lba', `LBA ${to} is past the end of the LUN (${lun.blocks} blocks: 0-${lun.blocks - 1})`);
  return { from, to };
}

function optionalNumber(fields: Fields, key: string): number | undefined {
  const raw = fields.raw(key);
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value)) fields.fail(key, `${describe(raw)} is not a number`);
  return value;
}

function numberOrHex(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text.slice(2), 16);
  if (/^\d+$/.test(text)) return Number(text);
  return undefined;
}

/** The JSON form of a validated rule (what GET /api/faults lists and the config accepts back). */
export function faultRuleJson(spec: FaultRuleSpec): Record<string, unknown> {
  const { match, action } = spec;
  const json: Record<string, unknown> = { action: action.kind };
  if (action.kind === 'check-condition') {
    const { name, key, asc, ascq } = action.sense;
    if (name !== undefined) json.sense = name;
    else Object.assign(json, { key: hex(key), asc: hex(asc), ascq: hex(ascq) });
    json.senseCodes = `${hex(key)}/${hex(asc)}/${hex(ascq)}`;
  } else if (action.kind === 'delay') {
    json.delayMs = action.delayMs;
    json.jitterMs = action.jitterMs;
  } else if (action.kind === 'thin-exhaustion') {
    json.softThresholdBlocks = action.softThresholdBlocks;
    json.limitBlocks = action.limitBlocks;
  }
  json.op = match.op;
  if (match.opcodes) json.opcodes = match.opcodes.map(hex);
  if (match.lba) json.lba = match.lba.from === match.lba.to ? `${match.lba.from}` : `${match.lba.from}-${match.lba.to}`;
  for (const key of ['initiator', 'afterCommands', 'every', 'probability', 'startAfterSeconds', 'durationSeconds', 'count'] as const) {
    if (match[key] !== undefined) json[key] = match[key];
  }
  if (spec.note !== undefined) json.note = spec.note;
  return json;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}

export { ConfigError as FaultRuleError };
