/**
 * Every LUN's fault rules in one system: what the config's `faults:` lists, the HTTP API and the CLI
 * add, list and clear at run time. Ids are `f1`, `f2`, ... in the order rules were added. Every fault
 * that fires is logged here and passed to listeners (the /metrics counter).
 *
 *   const board = new FaultBoard();
 *   const faults = board.register('iqn...:disk', 0, () => blocks);   // when the LUN opens
 *   board.add({ target: 'iqn...:disk', lun: 0, action: 'busy', every: 10 });
 */
import { ConfigError } from '../../config/errors.ts';
import { logger } from '../../util/log.ts';
import { faultRuleJson, validateFaultRule, type FaultRuleSpec } from './fault-rule.ts';
import { LunFaults, type ActiveRuleView, type InjectedFault, type LunFaultsOptions } from './lun-faults.ts';

/** One rule as GET /api/faults lists it. */
export interface FaultListing extends Record<string, unknown> {
  readonly id: string;
  readonly target: string;
  readonly lun: number;
  readonly action: string;
  readonly addedAt: string;
  readonly seen: number;
  readonly fired: number;
}

export interface LunInjectedFault extends InjectedFault {
  readonly target: string;
  readonly lun: number;
}

interface BoardLun {
  readonly target: string;
  readonly lun: number;
  readonly blocks: () => number;
  readonly faults: LunFaults;
}

let log: ReturnType<typeof logger.child> | undefined;
function faultLog() {
  log ??= logger.child({ component: 'faults' });
  return log;
}

export class FaultBoard {
  private readonly luns: BoardLun[] = [];
  private readonly listeners = new Set<(fault: LunInjectedFault) => void>();
  private nextId = 1;

  constructor(private readonly options: LunFaultsOptions = {}) {}

  /** A LUN joins (when it opens); `blocks` is read when a rule is checked (the LUN may grow). */
  register(target: string, lun: number, blocks: () => number): LunFaults {
    const existing = this.find(target, lun);
    if (existing) return existing.faults;
    const faults = new LunFaults(this.options);
    faults.onInjected = (fault) => this.injected({ ...fault, target, lun });
    this.luns.push({ target, lun, blocks, faults });
    return faults;
  }

  faultsOf(target: string, lun: number): LunFaults | undefined {
    return this.find(target, lun)?.faults;
  }

  /**
   * A rule from JSON: `{target?, lun?, action, ...}`. target may be left out when the system has one
   * target, lun when the target has LUN 0. Throws ConfigError naming the field (`path` prefixes it).
   */
  add(input: unknown, path = ''): FaultListing {
    const where = this.lunOf(input, path);
    const spec = validateFaultRule(input, { blocks: where.blocks() }, path, ['target', 'lun']);
    return this.addSpec(where, spec);
  }

  /** A rule already validated for this LUN (the config's, checked at load with its own path). */
  addTo(target: string, lun: number, input: unknown, path: string): FaultListing {
    const where = this.find(target, lun);
    if (where === undefined) throw new ConfigError(path, `no LUN ${lun} in target ${target}`);
    return this.addSpec(where, validateFaultRule(input, { blocks: where.blocks() }, path));
  }

  list(): FaultListing[] {
    return this.luns.flatMap((where) => where.faults.list().map((rule) => listing(where, rule)));
  }

  get(id: string): FaultListing | undefined {
    return this.list().find((rule) => rule.id === id);
  }

  /** The removed rule, or undefined when there is no rule with this id. */
  remove(id: string): FaultListing | undefined {
    for (const where of this.luns) {
      const rule = where.faults.list().find((r) => r.id === id);
      if (rule === undefined) continue;
      where.faults.remove(id);
      faultLog().info({ target: where.target, lun: where.lun, rule: id }, 'fault rule removed');
      return listing(where, rule);
    }
    return undefined;
  }

  /** Removes every rule (of one target / LUN when given); returns how many. */
  clear(filter: { target?: string; lun?: number } = {}): number {
    let removed = 0;
    for (const where of this.luns) {
      if (filter.target !== undefined && where.target !== filter.target) continue;
      if (filter.lun !== undefined && where.lun !== filter.lun) continue;
      removed += where.faults.clear();
    }
    if (removed > 0) faultLog().info({ ...filter, removed }, 'fault rules cleared');
    return removed;
  }

  onInjected(listener: (fault: LunInjectedFault) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private addSpec(where: BoardLun, spec: FaultRuleSpec): FaultListing {
    const id = `f${this.nextId++}`;
    const rule = where.faults.add(id, spec);
    const shown = listing(where, rule);
    faultLog().info({ ...shown }, 'fault rule added');
    return shown;
  }

  private injected(fault: LunInjectedFault): void {
    faultLog().info({ ...fault, ...(fault.opcode === undefined ? {} : { opcode: `0x${fault.opcode.toString(16)}` }) }, `fault injected: ${fault.action}`);
    for (const listener of this.listeners) listener(fault);
  }

  private find(target: string, lun: number): BoardLun | undefined {
    return this.luns.find((where) => where.target === target && where.lun === lun);
  }

  private lunOf(input: unknown, path: string): BoardLun {
    const at = (key: string): string => (path === '' ? key : `${path}.${key}`);
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ConfigError(path, 'a fault rule is an object ({action, ...})');
    const { target, lun } = input as { target?: unknown; lun?: unknown };
    const targets = [...new Set(this.luns.map((where) => where.target))];
    let iqn: string;
    if (target === undefined || target === null) {
      if (targets.length !== 1) throw new ConfigError(at('target'), `is required: this system has ${targets.length} targets (${targets.join(', ')})`);
      iqn = targets[0] as string;
    } else if (typeof target !== 'string' || !targets.includes(target)) {
      throw new ConfigError(at('target'), `${JSON.stringify(target)} is not a target of this system (${targets.join(', ')})`);
    } else {
      iqn = target;
    }
    const numbers = this.luns.filter((where) => where.target === iqn).map((where) => where.lun);
    const lunNumber = lun === undefined || lun === null ? 0 : typeof lun === 'string' && /^\d+$/.test(lun) ? Number(lun) : lun;
    if (typeof lunNumber !== 'number' || !numbers.includes(lunNumber)) {
      throw new ConfigError(at('lun'), `${JSON.stringify(lun ?? 0)} is not a LUN of ${iqn} (it has ${numbers.join(', ')})`);
    }
    return this.find(iqn, lunNumber) as BoardLun;
  }
}

function listing(where: BoardLun, rule: ActiveRuleView): FaultListing {
  return {
    id: rule.id,
    target: where.target,
    lun: where.lun,
    ...faultRuleJson(rule.spec),
    action: rule.spec.action.kind,
    addedAt: rule.addedAt.toISOString(),
    seen: rule.seen,
    fired: rule.fired,
    ...(rule.badBlocksLeft === undefined ? {} : { badBlocksLeft: rule.badBlocksLeft }),
    ...(rule.spec.action.kind === 'thin-exhaustion' ? { writtenBlocks: rule.writtenBlocks ?? 0 } : {}),
  };
}
