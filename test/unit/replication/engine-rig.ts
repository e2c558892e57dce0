/**
 * Two replication engines ('primary' and 'peer', one file LUN each) over one in-memory store and one
 * manual clock (not a test file: tap skips it). No Redis and no sleeps: `until` re-checks a condition
 * on every change of the store, and time moves only through `clock.advance`.
 */
import { join } from 'node:path';
import { ReplicationEngine } from '../../../src/replication/engine.ts';
import type { ReplicationOptions } from '../../../src/replication/options.ts';
import type { PairPhase } from '../../../src/replication/pair-types.ts';
import type { Backstore } from '../../../src/storage/backstore.ts';
import type { LunView, SystemView } from '../../../src/system/view.ts';
import { systemView } from '../../integration/support/system-view.ts';
import { tempDir, type TapLike } from './helpers.ts';
import { ManualClock } from './manual-clock.ts';
import { MemoryStore, type MemoryTransport } from './transport/memory-transport.ts';

export const MiB = 1024 * 1024;
export const GRAIN = 64 * 1024;
export const SIZE = 4 * MiB;
/** Reconcile passes and status publishing every second of the manual clock. */
export const RECONCILE_MS = 1000;

export const engineOptions: Partial<ReplicationOptions> = {
  grainBytes: GRAIN, probeIntervalMs: 100, stallTimeoutMs: 3000, syncTimeoutMs: 1000, epochMaxMs: 1,
  resyncChunkBytes: 256 * 1024, cleanPersistMs: 10, activityExtentBytes: 256 * 1024,
};

export interface Site {
  readonly name: string;
  readonly view: SystemView;
  readonly lun: LunView;
  readonly backstore: Backstore;
  /** This system's connection to the store (cut it to partition the site). */
  link: MemoryTransport;
  engine: ReplicationEngine;
  /** Stops this system's engine and starts a new one on the same state dir (a restart). */
  restart(): Promise<void>;
}

export interface EngineRig {
  readonly store: MemoryStore;
  readonly clock: ManualClock;
  readonly primary: Site;
  readonly peer: Site;
  /** Resolves once `check` holds (re-checked on every store change and every few ms; bounded). */
  until(check: () => boolean | Promise<boolean>, what: string): Promise<void>;
  /** Creates the pair primary → peer and waits for the initial sync to finish. */
  mirror(mode?: 'sync' | 'async'): Promise<string>;
  phaseOf(site: Site, pairId: string): PairPhase | undefined;
  /** Moves the clock by whole reconcile periods (status publishing, probes, heartbeats). */
  tick(periods?: number): void;
}

export async function engineRig(t: TapLike): Promise<EngineRig> {
  const dir = await tempDir(t);
  const clock = new ManualClock();
  const store = new MemoryStore(() => clock.now());
  const site = async (name: string, naa: string): Promise<Site> => {
    const { view, lun, backstore } = await systemView(t, dir, name, naa, SIZE);
    const start = async (): Promise<{ link: MemoryTransport; engine: ReplicationEngine }> => {
      const link = store.connect();
      const engine = new ReplicationEngine({ view, transport: link, clock, options: engineOptions, reconcileMs: RECONCILE_MS });
      await engine.start();
      return { link, engine };
    };
    const started = await start();
    const result: Site = {
      name, view, lun, backstore, link: started.link, engine: started.engine,
      restart: async () => {
        await result.engine.close();
        const again = await start();
        result.link = again.link;
        result.engine = again.engine;
      },
    };
    t.teardown(() => result.engine.close());
    return result;
  };
  const primary = await site('primary', '6001405aaaaaaaa1');
  const peer = await site('peer', '6001405bbbbbbbb2');
  const until = async (check: () => boolean | Promise<boolean>, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (await check()) return;
      if (Date.now() > deadline) throw new Error(`${what}: not reached`);
      const changed = new Promise<void>((resolve) => {
        const wake = (): void => { clearTimeout(timer); store.events.off('change', wake); resolve(); };
        // eslint-disable-next-line no-restricted-syntax -- a fallback re-check for states that change without a store event; the change event wakes it first
        const timer = setTimeout(wake, 5);
        store.events.on('change', wake);
      });
      await changed;
    }
  };
  const phaseOf = (s: Site, pairId: string): PairPhase | undefined => s.engine.status(pairId)?.phase;
  const rig: EngineRig = {
    store, clock, primary, peer, until, phaseOf,
    tick: (periods = 1) => clock.advance(periods * RECONCILE_MS),
    mirror: async (mode = 'async') => {
      await until(async () => (await primary.engine.findFreeRemoteVolume(SIZE)) !== undefined, 'peer volume registered');
      const status = await primary.engine.createMirror({
        source: { targetIqn: primary.lun.targetIqn, lun: 0 },
        target: { system: 'peer', targetIqn: peer.lun.targetIqn, lun: 0, naa: peer.lun.naa },
        mode,
      });
      await until(() => phaseOf(primary, status.pairId) === 'streaming' && peer.lun.writeProtected, 'initial sync done');
      return status.pairId;
    },
  };
  return rig;
}

export function stateFile(site: Site): string {
  return join(site.view.stateDir, 'replication', 'pairs.json');
}
