/**
 * The dashboard's data over time: every `intervalMs` (1 s) it collects the systems' states, keeps one
 * sample of every plotted series in a ring (the last 15 minutes), notes what changed as events, and
 * hands the update to the subscribers (the SSE streams). Used by each system and by the lab.
 *
 *   const feed = new DashboardFeed({ title: 'sim1', collect: () => [collector.collect()] });
 *   feed.start();  ...  feed.snapshot();  feed.subscribe((update) => …);  ...  feed.stop();
 */
import type { DashboardEvent, DashboardSample, DashboardSnapshot, DashboardState, DashboardUpdate, PairState, SystemState } from './dashboard-types.ts';
import { stateEvents } from './events.ts';
import { Ring } from './ring.ts';

export const HISTORY_SECONDS = 15 * 60;
const MAX_EVENTS = 200;

export interface DashboardFeedOptions {
  readonly title: string;
  collect(): Promise<readonly SystemState[]> | readonly SystemState[];
  /** @defaultValue 1000 */
  readonly intervalMs?: number;
  /** How much history is kept. @defaultValue 900 (15 minutes) */
  readonly keepSeconds?: number;
}

export class DashboardFeed {
  private readonly samples: Ring<DashboardSample>;
  private readonly events = new Ring<DashboardEvent>(MAX_EVENTS);
  private readonly listeners = new Set<(update: DashboardUpdate) => void>();
  private state: DashboardState;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly options: DashboardFeedOptions) {
    const intervalMs = options.intervalMs ?? 1000;
    this.samples = new Ring(Math.ceil(((options.keepSeconds ?? HISTORY_SECONDS) * 1000) / intervalMs));
    this.state = { title: options.title, at: new Date().toISOString(), systems: [], pairs: [] };
  }

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => { if (!this.ticking) void this.tick(); }, this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    await this.ticking;
  }

  snapshot(): DashboardSnapshot {
    return { state: this.state, samples: this.samples.toArray(), events: this.events.toArray() };
  }

  subscribe(listener: (update: DashboardUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One collection: the timer calls it; tests may too. */
  async tick(now = new Date()): Promise<void> {
    const run = (async () => {
      const systems = await this.options.collect();
      const state: DashboardState = { title: this.options.title, at: now.toISOString(), systems, pairs: mergePairs(systems) };
      const events = stateEvents(this.state.systems.length === 0 ? undefined : this.state, state);
      const sample = sampleOf(state, now);
      this.state = state;
      this.samples.push(sample);
      for (const event of events) this.events.push(event);
      for (const listener of this.listeners) listener({ state, sample, events });
    })();
    this.ticking = run;
    try {
      await run;
    } finally {
      this.ticking = undefined;
    }
  }
}

/** Every pair once: the report of the system that is its source wins (it measures the lag). */
export function mergePairs(systems: readonly SystemState[]): PairState[] {
  const byId = new Map<string, PairState>();
  for (const system of systems) {
    for (const pair of system.pairs) {
      const known = byId.get(pair.pairId);
      if (!known || (known.role !== 'source' && pair.role === 'source')) byId.set(pair.pairId, pair);
    }
  }
  return [...byId.values()].sort((a, b) => a.pairId.localeCompare(b.pairId));
}

function sampleOf(state: DashboardState, now: Date): DashboardSample {
  const pairs: Record<string, DashboardSample['pairs'][string]> = {};
  for (const pair of state.pairs) {
    pairs[pair.pairId] = { rpoSeconds: pair.lagKnown ? pair.rpoSeconds : null, bytesBehind: pair.bytesBehind, throughputBytesPerSecond: pair.throughputBytesPerSecond };
  }
  const luns: Record<string, DashboardSample['luns'][string]> = {};
  for (const system of state.systems) {
    for (const target of system.targets) {
      for (const lun of target.luns) luns[`${system.name}:${target.iqn}/${lun.lun}`] = { readBytesPerSecond: lun.readBytesPerSecond, writeBytesPerSecond: lun.writeBytesPerSecond };
    }
  }
  return { t: Math.round(now.getTime() / 100) / 10, pairs, luns };
}
