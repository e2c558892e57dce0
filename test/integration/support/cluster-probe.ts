/**
 * Looks at a running Redis Cluster from outside (plain connections to its nodes): which master serves
 * a key's slot, how many keys a slot holds, who is connected (CLIENT LIST by connection name).
 */
import { Redis } from 'ioredis';
import { parseRedisEndpoint } from '../../../src/util/redis-endpoint.ts';

export interface SlotRange { readonly start: number; readonly end: number; readonly masterPort: number; readonly replicaPorts: readonly number[] }

async function withNode<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

export function clusterPorts(url: string): number[] {
  const endpoint = parseRedisEndpoint(url);
  if (endpoint.kind !== 'cluster') throw new Error(`${url} is not a cluster URL`);
  return endpoint.nodes.map((n) => n.port);
}

/** CLUSTER SLOTS as seen by the first node of `ports` that answers. */
export async function slotRanges(ports: readonly number[]): Promise<SlotRange[]> {
  for (const port of ports) {
    try {
      const reply = await withNode(port, (r) => r.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string], ...Array<[string, number, string]>]>;
      return reply.map(([start, end, master, ...replicas]) => ({ start, end, masterPort: Number(master[1]), replicaPorts: replicas.map((r) => Number(r[1])) }));
    } catch {
      // try the next node
    }
  }
  throw new Error(`no cluster node answers on ${ports.join(', ')}`);
}

export async function keySlot(port: number, key: string): Promise<number> {
  return Number(await withNode(port, (r) => r.call('CLUSTER', 'KEYSLOT', key)));
}

export async function countKeysInSlot(port: number, slot: number): Promise<number> {
  return Number(await withNode(port, (r) => r.call('CLUSTER', 'COUNTKEYSINSLOT', slot)));
}

export function masterOf(ranges: readonly SlotRange[], slot: number): SlotRange {
  const range = ranges.find((r) => slot >= r.start && slot <= r.end);
  if (!range) throw new Error(`slot ${slot} is not served`);
  return range;
}

/** Connections per client name prefix `iscsi-sim:<system>:` (and ioredis's sharded subscribers of it), over all nodes. */
export async function connectionsBySystem(ports: readonly number[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const port of ports) {
    const list = await withNode(port, (r) => r.call('CLIENT', 'LIST')).catch(() => '') as string;
    for (const line of list.split('\n')) {
      const system = /name=\S*?iscsi-sim:([^:\s]+):/.exec(line)?.[1];
      if (system) counts.set(system, (counts.get(system) ?? 0) + 1);
    }
  }
  return counts;
}

export async function clusterState(port: number): Promise<string> {
  return withNode(port, async (r) => /cluster_state:(\w+)/.exec(String(await r.call('CLUSTER', 'INFO')))?.[1] ?? 'unknown').catch(() => 'unreachable');
}
