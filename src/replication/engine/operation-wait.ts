/**
 * Observing an operator action to its end: it has taken effect on both systems once the new source
 * reports the expected phase at the entry's data generation (CIM jobs and the CLI wait on this).
 */
import { afterHandover, doneIn, type AdminState } from '../mirror/admin-transitions.ts';
import { generationOf, type PairEntry } from '../mirror/pair-registry.ts';
import type { PairStatus } from '../pair-types.ts';
import type { EngineState } from './engine-state.ts';
import type { StatusBoard } from './status-board.ts';

/** A source that published no status for this long during a hand-over is taken as gone. */
const HANDOVER_SILENCE_MS = 15_000;
const POLL_MS = 100;

/** Resolves when the operation published as `published` is done; rejects with the reason otherwise. */
export async function waitOperation(state: EngineState, board: StatusBoard, published: PairEntry, timeoutMs: number): Promise<void> {
  const pairId = published.record.pairId;
  const since = state.clock.now();
  const deadline = Date.now() + timeoutMs;
  const wantedSource = published.record.source.system;
  let sourceSeenAt = since;
  while (!state.closed && Date.now() < deadline) {
    const entry = state.connected ? await state.registry.fetch(pairId).catch(() => undefined) : undefined;
    const status = entry ? await board.published(pairId) : undefined;
    if (status) sourceSeenAt = Math.max(sourceSeenAt, Date.parse(status.updatedAt));
    if (entry && afterHandover(entry.admin) && entry.admin === published.admin && state.clock.now() - sourceSeenAt > HANDOVER_SILENCE_MS) {
      throw new Error(`${entry.record.source.system} stopped answering during ${entry.admin}; if its site is down, failover with Force (pair failover --force) makes ${entry.record.target.system} the writer without it`);
    }
    if (entry && status) {
      if (entry.admin === 'split-brain' && published.admin !== 'split-brain') throw new Error('split brain detected: resolve it with pair resolve --keep SYSTEM');
      const settled = afterHandover(published.admin);
      const goal: AdminState = settled ?? published.admin;
      const source = settled ? published.record.target.system : wantedSource;
      const current = entry.record.source.system === source && entry.admin === goal
        && (status.dataGeneration ?? 1) === generationOf(entry) && Date.parse(status.updatedAt) >= since;
      if (current && doneIn(goal, status.phase)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`mirror ${pairId}: ${published.admin} did not complete within ${Math.round(timeoutMs / 1000)} s`);
}

/** Resolves true once the pair reports streaming with nothing pending (initial sync done). */
export async function waitSynchronized(
  state: EngineState, status: (pairId: string) => PairStatus | undefined, pairId: string, timeoutMs: number, onProgress?: (status: PairStatus) => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !state.closed) {
    const current = status(pairId);
    if (current) onProgress?.(current);
    if (current?.phase === 'streaming' && current.percentSynced === 100) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return false;
}
