/**
 * The fault rules of one LUN and their counters. The SCSI core asks `decide()` for each command (when
 * the LUN has rules); the storage decorator (faulty-backstore.ts) asks `badBlockIn` / `heal` /
 * `dropsWrite`. Every fault that fires is reported to `onInjected` (the board logs and counts it).
 * Rules fire in the order they were added: the first that fires decides, except delays, which add up
 * and let the command go on (or let a later rule decide after the delay).
 */
import type { SenseReason } from '../sense.ts';
import type { FaultAction, FaultActionKind, FaultRuleSpec, LbaRange } from './fault-rule.ts';

/** What one command looks like to the rules. */
export interface FaultContext {
  /** Reads or writes the medium (undefined for other commands). */
  readonly kind: 'read' | 'write' | undefined;
  readonly opcode?: number;
  readonly lba?: number;
  readonly blocks?: number;
  readonly initiator?: string;
}

/** One fault that fired (logged and counted). */
export interface InjectedFault {
  readonly ruleId: string;
  /** The rule's action, or `thin-soft-threshold` when a thin-exhaustion rule crossed its soft threshold. */
  readonly action: FaultActionKind | 'thin-soft-threshold';
  readonly opcode?: number;
  readonly lba?: number;
  readonly initiator?: string;
}

/** What the SCSI core does with a command: wait, raise a UA, then answer as `action` says (or go on). */
export interface FaultDecision {
  readonly delayMs: number;
  readonly action?: Exclude<FaultAction, { kind: 'delay' | 'drop-writes' | 'bad-blocks' }> | { readonly kind: 'space-exhausted' };
  readonly ruleId?: string;
  /** The first LBA of the command inside the rule's range (sense INFORMATION). */
  readonly lba?: number;
  /** A unit attention for every I_T nexus of the LUN (thin provisioning soft threshold). */
  readonly unitAttention?: SenseReason;
}

export interface ActiveRuleView {
  readonly id: string;
  readonly spec: FaultRuleSpec;
  readonly addedAt: Date;
  /** Commands that matched what/where/who/when. */
  readonly seen: number;
  readonly fired: number;
  /** bad-blocks: blocks not yet rewritten. */
  readonly badBlocksLeft?: number;
  /** thin-exhaustion: blocks written into the pool so far. */
  readonly writtenBlocks?: number;
}

class ActiveRule implements ActiveRuleView {
  seen = 0;
  fired = 0;
  writtenBlocks = 0;
  softRaised = false;
  readonly bad: IntervalSet | undefined;

  constructor(readonly id: string, readonly spec: FaultRuleSpec, readonly addedAtMs: number) {
    this.bad = spec.action.kind === 'bad-blocks' && spec.match.lba ? new IntervalSet(spec.match.lba) : undefined;
  }

  get addedAt(): Date {
    return new Date(this.addedAtMs);
  }

  get badBlocksLeft(): number | undefined {
    return this.bad?.size;
  }
}

export interface LunFaultsOptions {
  /** Milliseconds clock (Date.now); tests pass their own. */
  readonly now?: () => number;
  /** Uniform [0, 1) (Math.random); tests pass their own. */
  readonly random?: () => number;
}

export class LunFaults {
  private rules: ActiveRule[] = [];
  /** Kept with `rules`: the storage decorator asks on every I/O. */
  private storageRules = false;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Set by the board: every fault that fires. */
  onInjected: ((fault: InjectedFault) => void) | undefined;

  constructor(options: LunFaultsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Any rule at all (the SCSI core skips `decide` otherwise: no cost on the hot path). */
  get active(): boolean {
    return this.rules.length > 0;
  }

  list(): readonly ActiveRuleView[] {
    return this.rules;
  }

  add(id: string, spec: FaultRuleSpec): ActiveRuleView {
    const rule = new ActiveRule(id, spec, this.now());
    this.setRules([...this.rules, rule]);
    return rule;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.setRules(this.rules.filter((rule) => rule.id !== id));
    return this.rules.length < before;
  }

  clear(): number {
    const removed = this.rules.length;
    this.setRules([]);
    return removed;
  }

  private setRules(rules: ActiveRule[]): void {
    this.rules = rules;
    this.storageRules = rules.some((rule) => rule.bad !== undefined || rule.spec.action.kind === 'drop-writes');
  }

  /** The SCSI-level rules for one command; undefined when none fires. */
  decide(context: FaultContext): FaultDecision | undefined {
    let delayMs = 0;
    let unitAttention: SenseReason | undefined;
    const now = this.now();
    for (const rule of this.rules) {
      const action = rule.spec.action;
      if (action.kind === 'drop-writes' || action.kind === 'bad-blocks') continue;
      if (!this.matches(rule, context, now) || !this.counts(rule)) continue;
      const lba = firstLbaInside(rule.spec.match.lba, context);
      if (action.kind === 'delay') {
        delayMs += action.delayMs + (action.jitterMs > 0 ? Math.floor(this.random() * (action.jitterMs + 1)) : 0);
        this.fire(rule, 'delay', context, lba);
        continue;
      }
      if (action.kind === 'thin-exhaustion') {
        const blocks = context.blocks ?? 0;
        if (rule.writtenBlocks + blocks > action.limitBlocks) {
          this.fire(rule, 'thin-exhaustion', context, lba);
          return { delayMs, action: { kind: 'space-exhausted' }, ruleId: rule.id, ...(unitAttention ? { unitAttention } : {}) };
        }
        rule.writtenBlocks += blocks;
        if (!rule.softRaised && rule.writtenBlocks >= action.softThresholdBlocks) {
          rule.softRaised = true;
          unitAttention = 'thin-provisioning-soft-threshold-reached';
          this.fire(rule, 'thin-soft-threshold', context, lba);
        }
        continue;
      }
      this.fire(rule, action.kind, context, lba);
      return { delayMs, action, ruleId: rule.id, ...(lba === undefined ? {} : { lba }), ...(unitAttention ? { unitAttention } : {}) };
    }
    if (delayMs === 0 && unitAttention === undefined) return undefined;
    return { delayMs, ...(unitAttention ? { unitAttention } : {}) };
  }

  /** Storage: the first bad block (dm-dust) in [lba, lba+blocks) of a read, counted as fired; else undefined. */
  badBlockIn(lba: number, blocks: number): number | undefined {
    const now = this.now();
    for (const rule of this.rules) {
      if (rule.bad === undefined) continue;
      const bad = rule.bad.firstIn(lba, lba + blocks - 1);
      if (bad === undefined) continue;
      if (!this.inWindow(rule, now) || !this.counts(rule)) continue;
      this.fire(rule, 'bad-blocks', { kind: 'read', lba: bad, blocks: 1 }, bad);
      return bad;
    }
    return undefined;
  }

  /** Storage: a write or unmap rewrote [lba, lba+blocks): those bad blocks are good again (dm-dust). */
  heal(lba: number, blocks: number): void {
    for (const rule of this.rules) rule.bad?.remove(lba, lba + blocks - 1);
  }

  /** Storage: whether this write is silently dropped (dm-flakey drop_writes); counted as fired. */
  dropsWrite(lba: number, blocks: number): boolean {
    const now = this.now();
    const context: FaultContext = { kind: 'write', lba, blocks };
    for (const rule of this.rules) {
      if (rule.spec.action.kind !== 'drop-writes') continue;
      if (!this.matches(rule, context, now) || !this.counts(rule)) continue;
      this.fire(rule, 'drop-writes', context, firstLbaInside(rule.spec.match.lba, context));
      return true;
    }
    return false;
  }

  /** Any storage-level rule (the decorator passes I/O straight through otherwise). */
  get hasStorageRules(): boolean {
    return this.storageRules;
  }

  private matches(rule: ActiveRule, context: FaultContext, now: number): boolean {
    const match = rule.spec.match;
    if (match.op !== 'any' && context.kind !== match.op) return false;
    if (match.opcodes !== undefined && (context.opcode === undefined || !match.opcodes.includes(context.opcode))) return false;
    if (match.lba !== undefined && firstLbaInside(match.lba, context) === undefined) return false;
    if (match.initiator !== undefined && context.initiator !== match.initiator) return false;
    return this.inWindow(rule, now);
  }

  private inWindow(rule: ActiveRule, now: number): boolean {
    const { startAfterSeconds, durationSeconds } = rule.spec.match;
    const elapsed = (now - rule.addedAtMs) / 1000;
    if (startAfterSeconds !== undefined && elapsed < startAfterSeconds) return false;
    return durationSeconds === undefined || elapsed < (startAfterSeconds ?? 0) + durationSeconds;
  }

  /** after N, every Nth, count, probability: counted for every command that matched. */
  private counts(rule: ActiveRule): boolean {
    const match = rule.spec.match;
    rule.seen += 1;
    const after = match.afterCommands ?? 0;
    if (rule.seen <= after) return false;
    if (match.every !== undefined && (rule.seen - after) % match.every !== 0) return false;
    if (match.count !== undefined && rule.fired >= match.count) return false;
    return match.probability === undefined || this.random() < match.probability;
  }

  private fire(rule: ActiveRule, action: InjectedFault['action'], context: FaultContext, lba: number | undefined): void {
    rule.fired += 1;
    this.onInjected?.({
      ruleId: rule.id,
      action,
      ...(context.opcode === undefined ? {} : { opcode: context.opcode }),
      ...(lba === undefined ? (context.lba === undefined ? {} : { lba: context.lba }) : { lba }),
      ...(context.initiator === undefined ? {} : { initiator: context.initiator }),
    });
  }
}

/** The first LBA of the command inside `range`; the command's first LBA without a range; else undefined. */
function firstLbaInside(range: LbaRange | undefined, context: FaultContext): number | undefined {
  if (context.lba === undefined) return undefined;
  if (range === undefined) return context.lba;
  const last = context.lba + Math.max(1, context.blocks ?? 1) - 1;
  if (last < range.from || context.lba > range.to) return undefined;
  return Math.max(context.lba, range.from);
}

/** Disjoint inclusive LBA intervals, sorted: the bad blocks of one dm-dust rule. */
export class IntervalSet {
  private intervals: Array<[number, number]>;

  constructor(range: LbaRange) {
    this.intervals = [[range.from, range.to]];
  }

  get size(): number {
    return this.intervals.reduce((sum, [from, to]) => sum + to - from + 1, 0);
  }

  firstIn(from: number, to: number): number | undefined {
    for (const [a, b] of this.intervals) {
      if (b < from) continue;
      if (a > to) return undefined;
      return Math.max(a, from);
    }
    return undefined;
  }

  remove(from: number, to: number): void {
    const next: Array<[number, number]> = [];
    for (const [a, b] of this.intervals) {
      if (b < from || a > to) {
        next.push([a, b]);
        continue;
      }
      if (a < from) next.push([a, from - 1]);
      if (b > to) next.push([to + 1, b]);
    }
    this.intervals = next;
  }
}
