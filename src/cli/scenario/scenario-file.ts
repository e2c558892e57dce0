/**
 * A scenario file (YAML): a timeline of steps run against a lab, each one action or one assertion,
 * validated before anything runs with errors naming the field (`steps[3].link.rate: "fast" is not a
 * rate`). See fixtures/scenarios/ and the README ("Simulating the WAN link and scripted drills").
 *
 *   name: link-partition-and-heal
 *   lab: { size: 64M }                  # when `scenario run` starts its own lab
 *   steps:
 *     - write: { system: primary, offset: 0, size: 4M }
 *     - at: 2s                          # seconds from the start (the step waits for it)
 *       link: { partition: true, for: 10s }
 *     - expect: { phase: ahead, within: 15s }
 *     - expect: { converged: true, within: 60s }
 */
import { parse as parseYaml } from 'yaml';
import { parseSize } from '../../config/size.ts';
import { LinkInputError, parseLatency, parseLoss, parseRate, type LinkChange } from '../../replication/link/link-conditions.ts';

export class ScenarioError extends Error {
  constructor(readonly field: string, message: string) {
    super(field === '' ? message : `${field}: ${message}`);
    this.name = 'ScenarioError';
  }
}

export type SiteName = 'redis' | 'primary' | 'peer';
export type PairVerb = 'failover' | 'failback' | 'fracture' | 'resume' | 'resync' | 'reverse' | 'suspend';
/** What an initiator step expects: GOOD, any error, or a sense key (by name) with optional ASC/ASCQ. */
export type IoExpectation = { readonly kind: 'ok' } | { readonly kind: 'error' } | { readonly kind: 'sense'; readonly key: number; readonly asc?: number; readonly ascq?: number; readonly text: string };

export type StepAction =
  | { readonly kind: 'link'; readonly pair?: string; readonly change: LinkChange | 'clear'; readonly forMs?: number }
  | { readonly kind: 'fault'; readonly system: string; readonly rule: Record<string, unknown> }
  | { readonly kind: 'clear-faults'; readonly system: string }
  | { readonly kind: 'site'; readonly op: 'down' | 'up'; readonly part: SiteName; readonly kill: boolean }
  | { readonly kind: 'pair'; readonly pair?: string; readonly verb: PairVerb; readonly force: boolean }
  | { readonly kind: 'write'; readonly system: string; readonly offset: number; readonly size: number; readonly pattern: number | 'random'; readonly expect: IoExpectation }
  | { readonly kind: 'read'; readonly system: string; readonly offset: number; readonly size: number; readonly pattern?: number; readonly expect: IoExpectation }
  | { readonly kind: 'sleep'; readonly ms: number }
  | { readonly kind: 'expect-phase'; readonly phase: string; readonly withinMs: number }
  | { readonly kind: 'expect-converged'; readonly withinMs: number }
  | { readonly kind: 'expect-rpo-below'; readonly seconds: number; readonly duringMs: number }
  | { readonly kind: 'expect-rpo-at-least'; readonly seconds: number; readonly withinMs: number };

export interface ScenarioStep {
  /** 1-based, as the report numbers it. */
  readonly number: number;
  readonly name?: string;
  /** Ms from the scenario's start before which the step does not begin. */
  readonly atMs?: number;
  readonly action: StepAction;
}

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  readonly lab: { readonly size: string };
  readonly steps: readonly ScenarioStep[];
}

const ACTION_KEYS = ['link', 'fault', 'site', 'pair', 'write', 'read', 'sleep', 'expect'] as const;
const PAIR_VERBS: readonly PairVerb[] = ['failover', 'failback', 'fracture', 'resume', 'resync', 'reverse', 'suspend'];
const PHASES = ['initial-sync', 'streaming', 'ahead', 'resyncing', 'fractured', 'suspended', 'failing-over', 'failed-over', 'failing-back', 'reversing', 'split-brain'];
const SENSE_KEYS: Readonly<Record<string, number>> = {
  'recovered-error': 1, 'not-ready': 2, 'medium-error': 3, 'hardware-error': 4, 'illegal-request': 5, 'unit-attention': 6,
  'data-protect': 7, 'aborted-command': 0xb, 'miscompare': 0xe,
};
/** A wait without a bound would hang a CI lab: every `within`/`during` is bounded. */
const MAX_WAIT_MS = 30 * 60_000;

type Doc = Record<string, unknown>;

export function parseScenario(text: string, file: string): Scenario {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ScenarioError('', `${file} is not valid YAML: ${(error as Error).message}`);
  }
  const top = object(doc, '');
  known(top, '', ['name', 'description', 'lab', 'steps']);
  const name = string(top.name, 'name');
  const description = top.description === undefined ? undefined : string(top.description, 'description');
  let size = '64M';
  if (top.lab !== undefined) {
    const lab = object(top.lab, 'lab');
    known(lab, 'lab', ['size']);
    if (lab.size !== undefined) {
      size = String(lab.size);
      if (!parseSize(size)) throw new ScenarioError('lab.size', `"${size}" is not a size (e.g. 64M)`);
    }
  }
  if (!Array.isArray(top.steps) || top.steps.length === 0) throw new ScenarioError('steps', 'must be a list of at least one step');
  const steps: ScenarioStep[] = [];
  let lastAt = 0;
  top.steps.forEach((raw, index) => {
    const where = `steps[${index}]`;
    const step = object(raw, where);
    known(step, where, ['name', 'at', ...ACTION_KEYS]);
    const actions = ACTION_KEYS.filter((key) => step[key] !== undefined);
    if (actions.length !== 1) throw new ScenarioError(where, actions.length === 0 ? `needs one action: ${ACTION_KEYS.join(', ')}` : `has ${actions.join(' and ')}: one action per step`);
    const atMs = step.at === undefined ? undefined : duration(step.at, `${where}.at`);
    if (atMs !== undefined) {
      if (atMs < lastAt) throw new ScenarioError(`${where}.at`, `${atMs / 1000} s is before an earlier step's at (${lastAt / 1000} s): steps run in order`);
      lastAt = atMs;
    }
    const key = actions[0]!;
    steps.push({
      number: index + 1,
      ...(step.name === undefined ? {} : { name: string(step.name, `${where}.name`) }),
      ...(atMs === undefined ? {} : { atMs }),
      action: parseAction(key, step[key], `${where}.${key}`),
    });
  });
  return { name, ...(description === undefined ? {} : { description }), lab: { size }, steps };
}

function parseAction(key: (typeof ACTION_KEYS)[number], raw: unknown, where: string): StepAction {
  switch (key) {
    case 'link': return linkAction(raw, where);
    case 'fault': {
      const doc = object(raw, where);
      known(doc, where, ['system', 'rule', 'clear']);
      const system = string(doc.system, `${where}.system`);
      if (doc.clear === true) {
        if (doc.rule !== undefined) throw new ScenarioError(`${where}.rule`, 'give rule or clear: true, not both');
        return { kind: 'clear-faults', system };
      }
      return { kind: 'fault', system, rule: object(doc.rule, `${where}.rule`) };
    }
    case 'site': {
      const doc = object(raw, where);
      known(doc, where, ['down', 'up', 'kill']);
      if ((doc.down === undefined) === (doc.up === undefined)) throw new ScenarioError(where, 'give down: PART or up: PART');
      const op = doc.down === undefined ? 'up' : 'down';
      const part = string(doc[op], `${where}.${op}`);
      if (!['redis', 'primary', 'peer'].includes(part)) throw new ScenarioError(`${where}.${op}`, `"${part}" is not a part of the lab (redis, primary, peer)`);
      if (doc.kill !== undefined && op === 'up') throw new ScenarioError(`${where}.kill`, 'only with down');
      return { kind: 'site', op, part: part as SiteName, kill: bool(doc.kill, `${where}.kill`) };
    }
    case 'pair': {
      const doc = object(raw, where);
      known(doc, where, ['op', 'force', 'pair']);
      const verb = string(doc.op, `${where}.op`);
      if (!PAIR_VERBS.includes(verb as PairVerb)) throw new ScenarioError(`${where}.op`, `"${verb}" is not a pair operation (${PAIR_VERBS.join(', ')})`);
      return { kind: 'pair', verb: verb as PairVerb, force: bool(doc.force, `${where}.force`), ...(doc.pair === undefined ? {} : { pair: string(doc.pair, `${where}.pair`) }) };
    }
    case 'write': case 'read': {
      const doc = object(raw, where);
      known(doc, where, ['system', 'offset', 'size', 'pattern', 'expect']);
      const system = string(doc.system, `${where}.system`);
      const offset = bytes(doc.offset ?? 0, `${where}.offset`);
      const size = bytes(doc.size, `${where}.size`);
      if (size === 0) throw new ScenarioError(`${where}.size`, 'must be more than 0');
      if (offset % 512 !== 0 || size % 512 !== 0) throw new ScenarioError(`${where}.${offset % 512 !== 0 ? 'offset' : 'size'}`, 'must be a multiple of 512 bytes');
      const expect = ioExpectation(doc.expect, `${where}.expect`);
      const pattern = doc.pattern === undefined ? undefined : doc.pattern === 'random' && key === 'write' ? 'random' as const : byte(doc.pattern, `${where}.pattern`);
      if (key === 'write') return { kind: 'write', system, offset, size, pattern: pattern ?? 'random', expect };
      return { kind: 'read', system, offset, size, ...(pattern === undefined || pattern === 'random' ? {} : { pattern }), expect };
    }
    case 'sleep': return { kind: 'sleep', ms: duration(raw, where) };
    case 'expect': return expectation(raw, where);
  }
}

function linkAction(raw: unknown, where: string): StepAction {
  const doc = object(raw, where);
  known(doc, where, ['pair', 'partition', 'heal', 'latency', 'rate', 'loss', 'clear', 'for']);
  const forMs = doc.for === undefined ? undefined : duration(doc.for, `${where}.for`);
  const pair = doc.pair === undefined ? undefined : string(doc.pair, `${where}.pair`);
  const base = { kind: 'link' as const, ...(pair === undefined ? {} : { pair }), ...(forMs === undefined ? {} : { forMs }) };
  if (doc.clear !== undefined) {
    if (doc.clear !== true) throw new ScenarioError(`${where}.clear`, 'must be true');
    if (Object.keys(doc).some((k) => !['pair', 'clear'].includes(k))) throw new ScenarioError(`${where}.clear`, 'clears every condition: give it alone');
    return { ...base, change: 'clear' };
  }
  const change: { -readonly [K in keyof LinkChange]: LinkChange[K] } = {};
  try {
    if (doc.partition !== undefined) { if (doc.partition !== true) throw new LinkInputError(`${where}.partition`, 'must be true (heal: true ends it)'); change.partitioned = true; }
    if (doc.heal !== undefined) { if (doc.heal !== true) throw new LinkInputError(`${where}.heal`, 'must be true'); change.partitioned = false; }
    if (doc.partition !== undefined && doc.heal !== undefined) throw new LinkInputError(`${where}.heal`, 'give partition or heal, not both');
    if (doc.latency !== undefined) change.latencyMs = parseLatency(scalar(doc.latency), `${where}.latency`);
    if (doc.rate !== undefined) change.rateBytesPerSecond = parseRate(scalar(doc.rate), `${where}.rate`);
    if (doc.loss !== undefined) change.loss = parseLoss(scalar(doc.loss), `${where}.loss`);
  } catch (error) {
    if (error instanceof LinkInputError) throw new ScenarioError(error.field, error.message.slice(error.field.length + 2));
    throw error;
  }
  if (Object.keys(change).length === 0) throw new ScenarioError(where, 'says nothing to do: partition, heal, latency, rate, loss or clear');
  if (forMs !== undefined && change.partitioned === false) throw new ScenarioError(`${where}.for`, 'a heal has no duration');
  return { ...base, change };
}

function expectation(raw: unknown, where: string): StepAction {
  const doc = object(raw, where);
  known(doc, where, ['phase', 'converged', 'rpoBelow', 'rpoAtLeast', 'within', 'during']);
  const kinds = ['phase', 'converged', 'rpoBelow', 'rpoAtLeast'].filter((k) => doc[k] !== undefined);
  if (kinds.length !== 1) throw new ScenarioError(where, kinds.length === 0 ? 'needs one of phase, converged, rpoBelow, rpoAtLeast' : `has ${kinds.join(' and ')}: one assertion per step`);
  const within = (fallback: number): number => (doc.within === undefined ? fallback : duration(doc.within, `${where}.within`));
  if (doc.during !== undefined && kinds[0] !== 'rpoBelow') throw new ScenarioError(`${where}.during`, 'only with rpoBelow (within: bounds the others)');
  switch (kinds[0]) {
    case 'phase': {
      const phase = string(doc.phase, `${where}.phase`);
      if (!PHASES.includes(phase)) throw new ScenarioError(`${where}.phase`, `"${phase}" is not a pair phase (${PHASES.join(', ')})`);
      return { kind: 'expect-phase', phase, withinMs: within(30_000) };
    }
    case 'converged':
      if (doc.converged !== true) throw new ScenarioError(`${where}.converged`, 'must be true');
      return { kind: 'expect-converged', withinMs: within(120_000) };
    case 'rpoBelow':
      if (doc.within !== undefined) throw new ScenarioError(`${where}.within`, 'rpoBelow holds during: a span, or at the moment without it');
      return { kind: 'expect-rpo-below', seconds: duration(doc.rpoBelow, `${where}.rpoBelow`) / 1000, duringMs: doc.during === undefined ? 0 : duration(doc.during, `${where}.during`) };
    default:
      return { kind: 'expect-rpo-at-least', seconds: duration(doc.rpoAtLeast, `${where}.rpoAtLeast`) / 1000, withinMs: within(30_000) };
  }
}

function ioExpectation(raw: unknown, where: string): IoExpectation {
  if (raw === undefined || raw === 'ok') return { kind: 'ok' };
  if (raw === 'error') return { kind: 'error' };
  const text = string(raw, where).trim().toLowerCase();
  const named = SENSE_KEYS[text];
  if (named !== undefined) return { kind: 'sense', key: named, text };
  const codes = /^([0-9a-f]{1,2})\/([0-9a-f]{1,2})\/([0-9a-f]{1,2})$/.exec(text);
  if (codes) return { kind: 'sense', key: parseInt(codes[1]!, 16), asc: parseInt(codes[2]!, 16), ascq: parseInt(codes[3]!, 16), text };
  throw new ScenarioError(where, `"${String(raw)}" is not ok, error, a sense key (${Object.keys(SENSE_KEYS).join(', ')}) or KEY/ASC/ASCQ in hex (03/11/00)`);
}

function object(value: unknown, where: string): Doc {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ScenarioError(where, `must be a mapping (key: value), got ${describe(value)}`);
  return value as Doc;
}

function known(doc: Doc, where: string, keys: readonly string[]): void {
  for (const key of Object.keys(doc)) {
    if (!keys.includes(key)) throw new ScenarioError(where === '' ? key : `${where}.${key}`, `unknown field (known: ${keys.join(', ')})`);
  }
}

function string(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ScenarioError(where, `must be a non-empty string, got ${describe(value)}`);
  return value;
}

function bool(value: unknown, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ScenarioError(where, `must be true or false, got ${describe(value)}`);
  return value;
}

function scalar(value: unknown): string | number {
  return typeof value === 'number' ? value : String(value);
}

function bytes(value: unknown, where: string): number {
  const parsed = typeof value === 'number' || typeof value === 'string' ? parseSize(value) : undefined;
  if (parsed === undefined) throw new ScenarioError(where, `${describe(value)} is not a size (bytes, or 4K, 8M, 1G)`);
  return parsed;
}

function byte(value: unknown, where: string): number {
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^0x[0-9a-f]{1,2}$/i.test(value) ? parseInt(value, 16) : Number.NaN;
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 255) throw new ScenarioError(where, `${describe(value)} is not a byte (0..255 or 0x41)${where.endsWith('pattern') ? ' or random' : ''}`);
  return parsed;
}

/** "30s", "500ms", "2m", or a number of seconds. */
export function duration(value: unknown, where: string): number {
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) ms = value * 1000;
  else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(value);
    if (match) ms = Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 's' ? 1000 : 60_000);
  }
  if (ms === undefined || ms < 0) throw new ScenarioError(where, `${describe(value)} is not a duration (500ms, 30s, 2m)`);
  if (ms > MAX_WAIT_MS) throw new ScenarioError(where, `${ms / 1000} s is longer than ${MAX_WAIT_MS / 60_000} min`);
  return ms;
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
