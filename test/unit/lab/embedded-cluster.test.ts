import t from 'tap';
import { clusterNodes, clusterUrlOf } from '../../../src/lab/embedded-cluster.ts';

t.test('a cluster layout names its nodes, ports and dirs; bad layouts are refused naming the flag', async (t) => {
  const nodes = clusterNodes({ masters: 3, replicasPerMaster: 1, basePort: 7000, dir: '/s/redis-cluster' });
  t.same(nodes.map((n) => [n.name, n.port, n.dir]), [
    ['redis-7000', 7000, '/s/redis-cluster/node-7000'], ['redis-7001', 7001, '/s/redis-cluster/node-7001'],
    ['redis-7002', 7002, '/s/redis-cluster/node-7002'], ['redis-7003', 7003, '/s/redis-cluster/node-7003'],
    ['redis-7004', 7004, '/s/redis-cluster/node-7004'], ['redis-7005', 7005, '/s/redis-cluster/node-7005'],
  ]);
  t.equal(clusterUrlOf(nodes.slice(0, 2)), 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001');
  t.throws(() => clusterNodes({ masters: 2, replicasPerMaster: 0, basePort: 7000, dir: '/s' }), /--redis-cluster 2: a Redis Cluster needs at least 3 masters/);
  t.throws(() => clusterNodes({ masters: 3, replicasPerMaster: -1, basePort: 7000, dir: '/s' }), /--redis-replicas -1/);
  t.throws(() => clusterNodes({ masters: 3, replicasPerMaster: 0, basePort: 55_534, dir: '/s' }), /bus ports \(\+10000\) pass 65535/);
  t.throws(() => clusterNodes({ masters: 33, replicasPerMaster: 1, basePort: 7000, dir: '/s' }), /66 cluster nodes: at most 64/);
});
