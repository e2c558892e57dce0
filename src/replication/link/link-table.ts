/**
 * The emulated links of one system, by pair: the shaper each source pair ships through, changed at
 * runtime (`POST /api/links/PAIR`, `iscsi-sim link`) and kept in `<state dir>/replication/links.json`
 * so a system restarted in the middle of a drill keeps its link conditions. Every change is logged.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { logger } from '../../util/log.ts';
import { readStateFile, StateFileError } from '../../util/state-file.ts';
import {
  applyChange, CLEAR_LINK, describeLink, isClear, parseLinkChange, type LinkChange, type LinkConditions,
} from './link-conditions.ts';
import { LinkShaper, type LinkCounters } from './link-shaper.ts';

export interface LinkListing {
  readonly pairId: string;
  readonly conditions: LinkConditions;
  readonly description: string;
  readonly counters: LinkCounters;
}

export class LinkTable {
  private readonly shapers = new Map<string, LinkShaper>();
  private readonly file: string;
  private saving: Promise<void> = Promise.resolve();
  private readonly log = logger.child({ component: 'replication', part: 'link' });

  constructor(stateDir: string) {
    this.file = join(stateDir, 'replication', 'links.json');
  }

  /** Reads the saved conditions (a missing file: all links clear; an unreadable one stops start-up). */
  async load(): Promise<void> {
    const saved = await readStateFile(this.file) as { links?: unknown } | undefined;
    if (saved === undefined) return;
    const links = saved.links;
    if (typeof links !== 'object' || links === null || Array.isArray(links)) throw new StateFileError(this.file, '"links" is not an object');
    for (const [pairId, value] of Object.entries(links)) {
      let change: LinkChange;
      try {
        change = parseLinkChange(value, `links.${pairId}.`);
      } catch (error) {
        throw new StateFileError(this.file, (error as Error).message);
      }
      const conditions = applyChange(CLEAR_LINK, change);
      this.shaper(pairId).set(conditions);
      if (!isClear(conditions)) this.log.warn({ pair: pairId, link: describeLink(conditions) }, 'emulated link conditions restored from the state dir');
    }
  }

  /** The pair's shaper (created clear on first use). */
  shaper(pairId: string): LinkShaper {
    let shaper = this.shapers.get(pairId);
    if (!shaper) {
      shaper = new LinkShaper(pairId);
      this.shapers.set(pairId, shaper);
    }
    return shaper;
  }

  /** Applies a change, logs it and saves the table; returns the pair's conditions now. */
  async change(pairId: string, change: LinkChange): Promise<LinkConditions> {
    const shaper = this.shaper(pairId);
    const before = shaper.conditions;
    const after = applyChange(before, change);
    shaper.set(after);
    const fields = { pair: pairId, link: describeLink(after), before: describeLink(before) };
    if (before.partitioned && !after.partitioned) this.log.warn(fields, 'emulated link healed');
    else if (isClear(after)) this.log.warn(fields, 'emulated link cleared');
    else this.log.warn(fields, 'emulated link fault injected');
    await this.save();
    return after;
  }

  /** Every condition of the pair's link back to clear. */
  clear(pairId: string): Promise<LinkConditions> {
    return this.change(pairId, { partitioned: false, latencyMs: 0, rateBytesPerSecond: null, loss: 0 });
  }

  list(): LinkListing[] {
    return [...this.shapers.values()].map((shaper) => ({
      pairId: shaper.pairId, conditions: shaper.conditions, description: shaper.describe(), counters: { ...shaper.counters },
    }));
  }

  /** Writes the non-clear links (temp file + rename: never a half-written table). */
  private save(): Promise<void> {
    const links = Object.fromEntries([...this.shapers.values()].filter((s) => !s.clear).map((s) => [s.pairId, toJson(s.conditions)]));
    const write = async (): Promise<void> => {
      await mkdir(dirname(this.file), { recursive: true });
      const temp = `${this.file}.tmp`;
      await writeFile(temp, `${JSON.stringify({ links }, null, 2)}\n`);
      await rename(temp, this.file);
    };
    this.saving = this.saving.then(write, write);
    return this.saving;
  }
}

function toJson(conditions: LinkConditions): LinkChange {
  return {
    partitioned: conditions.partitioned, latencyMs: conditions.latencyMs, loss: conditions.loss,
    ...(conditions.rateBytesPerSecond === undefined ? {} : { rateBytesPerSecond: conditions.rateBytesPerSecond }),
  };
}
