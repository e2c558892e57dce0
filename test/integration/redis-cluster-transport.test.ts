/**
 * The Redis transport on a Redis Cluster (3 masters from the lab's embedded-cluster code, real
 * redis-server processes): the transport contract holds there too (sharded pub/sub, batches within one
 * hash tag), and a system's connections do not grow with its pairs, on a cluster and on one Redis.
 */
import t from 'tap';
import { join } from 'node:path';
import { clusterNodes, clusterUrlOf, formCluster, launchClusterNode } from '../../src/lab/embedded-cluster.ts';
import { freeLoopbackPortRange, startEmbeddedRedis } from '../../src/lab/embedded-redis.ts';
import { RedisTransport } from '../../src/replication/transport/redis-transport.ts';
import type { EpochConsumer, EpochProducer } from '../../src/replication/transport/transport.ts';
import { tempDir, waitFor } from '../unit/replication/helpers.ts';
import { transportContract } from '../unit/replication/transport/transport-contract.ts';
import { connectionsBySystem } from './support/cluster-probe.ts';

const dir = await tempDir(t, 'iscsi-sim-cluster-transport-');
const layout = { masters: 3, replicasPerMaster: 0, basePort: await freeLoopbackPortRange(3, { clusterBus: true }), dir: join(dir, 'cluster') };
const nodes = clusterNodes(layout);
const processes = await Promise.all(nodes.map((node) => launchClusterNode(node, layout)));
t.teardown(() => Promise.all(processes.map((p) => p.stop())));
await formCluster(nodes, layout);
const clusterUrl = clusterUrlOf(nodes);

void t.test('the transport contract on a Redis Cluster', async (t) => {
  transportContract(t, async () => new RedisTransport(clusterUrl));
});

/** `pairs` producers and consumers with their notification channels, as a system with that many pairs holds. */
async function connectionsWith(url: string, ports: readonly number[], name: string, pairs: number): Promise<number> {
  const transport = new RedisTransport(url, { name });
  const producers: EpochProducer[] = [];
  const consumers: EpochConsumer[] = [];
  try {
    await transport.whenConnected(10_000);
    const subscriptions = [transport.subscribe('iscsi-sim:pair-events', () => undefined)];
    for (let i = 0; i < pairs; i++) {
      const pairId = `${name}-p${i}`;
      const producer = transport.epochProducer(pairId);
      producers.push(producer);
      await producer.add({ pair: pairId, generation: 1, epoch: 1, key: `iscsi-sim:{${pairId}}:payload:g1:e1`, bytes: 1, resync: false }, `${pairId}-g1-e1`);
      consumers.push(transport.epochConsumer(pairId, async () => undefined, { concurrency: 2, onError: () => undefined }));
      subscriptions.push(transport.subscribe(`iscsi-sim:{${pairId}}:ack-channel`, () => undefined));
    }
    // Every lazily opened connection is open once each pair has been served.
    let count = 0;
    await waitFor(async () => {
      const next = (await connectionsBySystem(ports)).get(name) ?? 0;
      const settled = next === count && next > 0;
      count = next;
      return settled;
    }, 20_000, 500);
    await Promise.all(subscriptions.map((s) => s.close()));
    return count;
  } finally {
    await Promise.all(consumers.map((c) => c.close(false)));
    await Promise.all(producers.map((p) => p.close()));
    await transport.close();
  }
}

void t.test('connections per system do not grow with its pairs (CLIENT LIST by connection name)', async (t) => {
  const ports = nodes.map((n) => n.port);
  const clusterOne = await connectionsWith(clusterUrl, ports, 'c1', 1);
  const clusterMany = await connectionsWith(clusterUrl, ports, 'c64', 64);
  t.comment(`Redis Cluster of 3 masters: ${clusterOne} connections with 1 pair, ${clusterMany} with 64`);
  t.ok(clusterMany <= RedisTransport.connectionBound(3), `at most ${RedisTransport.connectionBound(3)} on 3 masters (${clusterMany})`);
  // One pair's keys live on one master; 64 pairs reach all three: the bound is per master, not per pair.
  t.ok(clusterOne <= clusterMany, 'one pair may use fewer masters');

  const single = await startEmbeddedRedis({ dir: join(dir, 'single'), appendOnly: false });
  t.teardown(() => single.stop());
  const singleOne = await connectionsWith(single.url, [single.port], 's1', 1);
  const singleMany = await connectionsWith(single.url, [single.port], 's64', 64);
  t.comment(`one Redis: ${singleOne} connections with 1 pair, ${singleMany} with 64`);
  t.equal(singleMany, RedisTransport.connectionBound(0), 'one Redis: the command and the subscriber connection');
  t.equal(singleOne, singleMany);
});
