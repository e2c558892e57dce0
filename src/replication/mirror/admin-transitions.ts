/**
 * The pair's administrative state machine as pure functions (no Redis, no I/O), so every transition
 * is unit-tested on its own. The engine publishes what `planOperation` decides, and each system acts
 * on the published state through `sourceDuty` / `targetDuty`.
 *
 * The record is always oriented by who may write: `record.source` is the production copy (or the side
 * handing production over), `record.target` is write protected. Failover therefore REVERSES the record
 * (the DR site becomes the source of the reversed relationship, the old source its fenced target) and
 * Failback reverses it back once the DR site's changes are home. Every change of the writable side
 * bumps the pair's data generation (DRBD's current UUID): a system that was the writer at an older
 * generation learns, when it sees the pair again, that it was fenced meanwhile.
 */
import type { PairPhase } from '../pair-types.ts';

/**
 * What the operator asked for (kept in Redis and in each member's pairs.json).
 * - 'failing-over', 'reversing', 'failing-back': hand-over of the writer role. The current source is
 *   write protected and ships everything it has that the target lacks; once drained the record is
 *   reversed (and the admin becomes 'failed-over' resp. 'active').
 * - 'failed-over': the (reversed) source is the DR production copy: writable, changes tracked in its
 *   persisted dirty map, nothing shipped; the old source is its fenced target.
 * - 'split-brain': both sides wrote while disconnected; nothing is shipped or applied until an
 *   operator (or an opt-in policy) names the side to keep.
 */
export type AdminState =
  | 'active' | 'fractured' | 'suspended'
  | 'failing-over' | 'failed-over' | 'failing-back' | 'reversing'
  | 'split-brain' | 'detached';

export type PairOperation = 'fracture' | 'suspend' | 'resume' | 'resync' | 'detach' | 'failover' | 'failback' | 'reverse-roles';

/** What is known about the moment of the request. */
export interface OperationContext {
  /** The current source published a status recently (it can fence itself and drain). */
  readonly sourceReachable: boolean;
  /** Force = true: skip the drain (unplanned failover, site down). */
  readonly force: boolean;
}

export type Plan =
  | {
    readonly kind: 'publish';
    readonly admin: AdminState;
    /** Swap record.source and record.target (the writable side changes now). */
    readonly reverse: boolean;
    /** The new writer did not get the old one's consent: it must check for divergence when it returns. */
    readonly forced: boolean;
  }
  | { readonly kind: 'refuse'; readonly reason: string };

const HOLDING: readonly AdminState[] = ['active', 'fractured', 'suspended'];

function refuse(reason: string): Plan { return { kind: 'refuse', reason }; }
function to(admin: AdminState, reverse = false, forced = false): Plan { return { kind: 'publish', admin, reverse, forced }; }

/** The transition an operation leads to from `admin`, or the reason it is refused. */
export function planOperation(admin: AdminState, operation: PairOperation, context: OperationContext): Plan {
  const now = `the pair is ${admin}`;
  switch (operation) {
    case 'fracture':
      return admin === 'active' || admin === 'suspended' ? to('fractured') : refuse(`fracture needs an active or suspended pair; ${now}`);
    case 'suspend':
      return admin === 'active' ? to('suspended') : refuse(`suspend needs an active pair; ${now}`);
    case 'resume':
      return admin === 'fractured' || admin === 'suspended' ? to('active') : refuse(`resume needs a fractured or suspended pair; ${now}`);
    case 'resync':
      return HOLDING.includes(admin) ? to('active') : refuse(`resync needs an active, fractured or suspended pair; ${now}`);
    case 'detach':
      if (admin === 'split-brain' && !context.force) return refuse('the pair is in split brain: resolve it first (pair resolve --keep SYSTEM), or detach with Force to keep both sides as they are');
      return to('detached');
    case 'failover':
      if (HOLDING.includes(admin)) {
        if (context.force || !context.sourceReachable) return to('failed-over', true, true);
        return to('failing-over');
      }
      if (admin === 'failing-over' && context.force) return to('failed-over', true, true);
      return refuse(admin === 'failed-over' ? 'the pair is already failed over' : `failover needs an active, fractured or suspended pair; ${now}`);
    case 'failback':
      if (admin === 'failed-over') return to('failing-back');
      return refuse(admin === 'failing-back' ? 'a failback is already running' : `failback needs a failed-over pair; ${now}`);
    case 'reverse-roles':
      // After a failover the record is already reversed: reversing for good = start shipping that way.
      if (admin === 'failed-over') return to('active');
      if (HOLDING.includes(admin)) {
        if (!context.sourceReachable) return refuse('the source system is unreachable, so it cannot hand over: use Failover (10) instead');
        return to('reversing');
      }
      return refuse(`reverse roles needs an active, fractured, suspended or failed-over pair; ${now}`);
  }
}

/** A hand-over state the current source completes once drained: the admin that follows (record reversed). */
export function afterHandover(admin: AdminState): AdminState | undefined {
  switch (admin) {
    case 'failing-over': return 'failed-over';
    case 'failing-back': return 'active';
    case 'reversing': return 'active';
    default: return undefined;
  }
}

/** Split brain resolution: keep `keep` (the system whose data survives). */
export function planResolve(admin: AdminState, keep: string, source: string, target: string): Plan {
  if (admin !== 'split-brain') return refuse(`the pair is ${admin}, not in split brain`);
  if (keep === source) return to('active');
  if (keep === target) return to('active', true);
  return refuse(`${keep} is not a member of this pair (${source}, ${target})`);
}

/**
 * What the current source does:
 * - 'ship': writable, streaming to the target;
 * - 'hold': writable, changes only tracked in the dirty map;
 * - 'drain': write protected, ships everything the target lacks, then completes the hand-over.
 * In split brain the source (the production side after the failover) holds: it keeps writing and
 * tracking, its target is fenced.
 */
export type SourceDuty = 'ship' | 'hold' | 'drain';

export function sourceDuty(admin: AdminState): SourceDuty | undefined {
  switch (admin) {
    case 'active': return 'ship';
    case 'fractured': case 'suspended': case 'failed-over': return 'hold';
    case 'failing-over': case 'failing-back': case 'reversing': return 'drain';
    case 'split-brain': return 'hold';
    case 'detached': return undefined;
  }
}

/**
 * What the target does: 'apply' (write protected, applier running), 'paused' (protected, applier
 * paused), 'fenced' (protected, nothing applied: split brain), 'released' (writable: detached).
 */
export type TargetDuty = 'apply' | 'paused' | 'fenced' | 'released';

export function targetDuty(admin: AdminState): TargetDuty {
  switch (admin) {
    case 'suspended': return 'paused';
    case 'split-brain': return 'fenced';
    case 'detached': return 'released';
    default: return 'apply';
  }
}

/** The hand-over a source that comes back (restart, reconnect) must not guess: stay fenced until Redis says. */
export function mayWriteWithoutRedis(admin: AdminState): boolean {
  return admin === 'active' || admin === 'fractured' || admin === 'suspended' || admin === 'failed-over';
}

export const SPLIT_BRAIN_POLICIES = ['manual', 'discard-zero-changes', 'discard-least-changes'] as const;
export type SplitBrainPolicy = typeof SPLIT_BRAIN_POLICIES[number];

export function isSplitBrainPolicy(value: string): value is SplitBrainPolicy {
  return (SPLIT_BRAIN_POLICIES as readonly string[]).includes(value);
}

/**
 * Automatic split-brain resolution (DRBD's after-sb policies): which side to keep, or undefined when
 * the operator must decide. `changes` = grains each side changed while disconnected.
 */
export function autoResolve(policy: SplitBrainPolicy, changes: Readonly<Record<string, number>>): string | undefined {
  const sides = Object.entries(changes);
  if (policy === 'manual' || sides.length !== 2) return undefined;
  const [[a, countA], [b, countB]] = sides;
  if (policy === 'discard-zero-changes') {
    if (countA === 0 && countB > 0) return b;
    if (countB === 0 && countA > 0) return a;
    return undefined;
  }
  if (countA === countB) return undefined;
  return countA > countB ? a : b;
}

/** The SourcePair phase a holding admin state keeps (split brain: the production side keeps tracking). */
export function heldPhase(admin: AdminState): Extract<PairPhase, 'fractured' | 'suspended' | 'failed-over'> | undefined {
  if (admin === 'fractured' || admin === 'suspended' || admin === 'failed-over') return admin;
  if (admin === 'split-brain') return 'failed-over';
  return undefined;
}

/** Whether the new source reporting `phase` means the operation that led to `admin` is done. */
export function doneIn(admin: AdminState, phase: PairPhase): boolean {
  switch (admin) {
    case 'active': return phase === 'streaming';
    case 'failed-over': return phase === 'failed-over';
    case 'fractured': case 'suspended': return phase === admin;
    case 'split-brain': return phase === 'split-brain';
    default: return false;
  }
}
