/**
 * The link API on the system's HTTP server: the emulated replication link of each pair this system
 * takes part in (src/replication/link). `iscsi-sim link` sets the same conditions on both systems of a
 * pair, so they hold whichever side ships (after a failover the peer is the source).
 *
 *   GET    /api/links            {system, links: [{pairId, role, phase, conditions, description, counters}]}
 *   POST   /api/links/PAIR       {partitioned?, latencyMs?, rateBytesPerSecond? (null: no cap), loss?}
 *   DELETE /api/links/PAIR       every condition of the pair's link back to clear
 *   DELETE /api/links            all pairs' links clear
 */
import { HttpError, type HttpRoute } from '../metrics/index.ts';
import type { ReplicationEngine } from '../replication/index.ts';
import { describeLink, LinkInputError, parseLinkChange } from '../replication/link/link-conditions.ts';
import type { HttpFeatureFactory } from './http-extensions.ts';

const PAIR_PATH = /^\/api\/links\/([^/]+)$/;

export const linkFeature: HttpFeatureFactory = ({ replication, system }) => {
  const engineOf = (): ReplicationEngine => {
    if (!replication) throw new HttpError(503, `system ${system.name} runs without replication (no redisUrl): it has no replication links`);
    return replication.engine;
  };
  const knownPair = (engine: ReplicationEngine, pairId: string): void => {
    const known = engine.pairs().map((p) => p.pairId);
    if (!known.includes(pairId)) throw new HttpError(404, `no mirror ${pairId} on system ${system.name} (it has ${known.length === 0 ? 'none' : known.join(', ')})`);
  };
  const answer = (engine: ReplicationEngine, pairId: string) => {
    const shaper = engine.links.shaper(pairId);
    return { status: 200, body: { system: system.name, pairId, conditions: shaper.conditions, description: describeLink(shaper.conditions) } };
  };
  const routes: HttpRoute[] = [
    {
      method: 'GET', path: '/api/links', description: 'the emulated replication link of each mirror pair (JSON)',
      handle: () => {
        const engine = engineOf();
        const listed = new Map(engine.links.list().map((l) => [l.pairId, l]));
        const links = engine.pairs().map((pair) => {
          const link = listed.get(pair.pairId) ?? { conditions: engine.links.shaper(pair.pairId).conditions, description: 'clear', counters: engine.links.shaper(pair.pairId).counters };
          return { pairId: pair.pairId, role: pair.role, phase: pair.phase, conditions: link.conditions, description: link.description, counters: link.counters };
        });
        return { status: 200, body: { system: system.name, links } };
      },
    },
    {
      method: 'POST', path: PAIR_PATH, description: 'change a pair\'s emulated link: {partitioned, latencyMs, rateBytesPerSecond (null: no cap), loss}',
      handle: async ({ params, body }) => {
        const engine = engineOf();
        const pairId = params[0]!;
        knownPair(engine, pairId);
        let change;
        try {
          change = parseLinkChange(body ?? {});
        } catch (error) {
          if (error instanceof LinkInputError) throw new HttpError(400, error.message);
          throw error;
        }
        await engine.links.change(pairId, change);
        return answer(engine, pairId);
      },
    },
    {
      method: 'DELETE', path: PAIR_PATH, description: 'clear a pair\'s emulated link',
      handle: async ({ params }) => {
        const engine = engineOf();
        const pairId = params[0]!;
        knownPair(engine, pairId);
        await engine.links.clear(pairId);
        return answer(engine, pairId);
      },
    },
    {
      method: 'DELETE', path: '/api/links', description: 'clear every pair\'s emulated link',
      handle: async () => {
        const engine = engineOf();
        for (const pair of engine.pairs()) await engine.links.clear(pair.pairId);
        return { status: 200, body: { system: system.name, cleared: engine.pairs().map((p) => p.pairId) } };
      },
    },
  ];
  return { routes };
};
