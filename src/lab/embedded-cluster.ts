/**
 * A private Redis Cluster for `iscsi-sim lab --redis-cluster N [--redis-replicas R]`: N masters and
 * N×R replicas, each a redis-server child (cluster-enabled, AOF, loopback) on its own port with its own
 * dir under the lab's state dir, joined with `redis-cli --cluster create … --cluster-yes`. A node keeps
 * its port and nodes.conf across restarts, so a node the supervisor restarts (or a reused state dir)
 * rejoins the cluster it knew; a killed master's replica takes over after cluster-node-timeout.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { clusterUrl } from '../util/redis-endpoint.ts';
import { launchRedisServer, type RedisProcess } from './embedded-redis.ts';

export interface ClusterLayout {
  readonly masters: number;
  readonly replicasPerMaster: number;
  /** Node i listens on basePort + i (its cluster bus on that + 10000). */
  readonly basePort: number;
  /** Nodes live in <dir>/node-<port>. */
  readonly dir: string;
  /** How long a master may be unreachable before its replica is promoted. @defaultValue 5000 */
  readonly nodeTimeoutMs?: number;
}

export interface ClusterNodeSpec {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
}

export const MAX_CLUSTER_NODES = 64;

/** Checks the layout and names its nodes; throws naming what is wrong. */
export function clusterNodes(layout: ClusterLayout): ClusterNodeSpec[] {
  if (!Number.isInteger(layout.masters) || layout.masters < 3) throw new Error(`--redis-cluster ${layout.masters}: a Redis Cluster needs at least 3 masters`);
  if (!Number.isInteger(layout.replicasPerMaster) || layout.replicasPerMaster < 0) throw new Error(`--redis-replicas ${layout.replicasPerMaster}: must be 0 or more`);
  const count = layout.masters * (1 + layout.replicasPerMaster);
  if (count > MAX_CLUSTER_NODES) throw new Error(`${count} cluster nodes: at most ${MAX_CLUSTER_NODES}`);
  if (layout.basePort + count - 1 + 10_000 > 65_535) throw new Error(`cluster ports ${layout.basePort}..${layout.basePort + count - 1}: their bus ports (+10000) pass 65535; use a lower --base-port`);
  return Array.from({ length: count }, (_, i) => {
    const port = layout.basePort + i;
    return { name: `redis-${port}`, port, dir: join(layout.dir, `node-${port}`) };
  });
}

export function clusterUrlOf(nodes: readonly ClusterNodeSpec[]): string {
  return clusterUrl(nodes.map((n) => `127.0.0.1:${n.port}`));
}

/** Starts one node (its data and nodes.conf in its dir); ready to accept connections when returned. */
export function launchClusterNode(node: ClusterNodeSpec, layout: ClusterLayout): Promise<RedisProcess> {
  return launchRedisServer({
    dir: node.dir,
    port: node.port,
    appendOnly: true,
    extraArgs: [
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(layout.nodeTimeoutMs ?? 5000),
      '--appendfsync', 'everysec',
      // A replica promotes itself however long it was cut off (a lab has no better copy to wait for).
      '--cluster-replica-validity-factor', '0',
    ],
  });
}

/**
 * Joins the running nodes into one cluster unless they already are one (reused state dir), then waits
 * until every node says cluster_state:ok.
 */
export async function formCluster(nodes: readonly ClusterNodeSpec[], layout: ClusterLayout, timeoutMs = 60_000): Promise<'created' | 'reused'> {
  const infos = await Promise.all(nodes.map((n) => clusterInfo(n.port)));
  const known = infos.map((info) => Number(info.cluster_known_nodes ?? 0));
  let outcome: 'created' | 'reused' = 'reused';
  if (known.every((k) => k <= 1)) {
    await redisCliCreate(nodes.map((n) => `127.0.0.1:${n.port}`), layout.replicasPerMaster, timeoutMs);
    outcome = 'created';
  } else if (known.some((k) => k !== nodes.length)) {
    throw new Error(`the cluster nodes under ${layout.dir} disagree on its size (${known.join(', ')} known nodes; ${nodes.length} expected): `
      + 'the state dir was made with another --redis-cluster/--redis-replicas; use those, or a new --state-dir');
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(nodes.map((n) => clusterInfo(n.port).then((i) => i.cluster_state, () => 'unreachable')));
    if (states.every((s) => s === 'ok')) return outcome;
    if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become ok within ${timeoutMs / 1000} s (${states.join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** CLUSTER INFO of one node as fields. */
export async function clusterInfo(port: number): Promise<Record<string, string>> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const text = String(await redis.call('CLUSTER', 'INFO'));
    return Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => l.split(':', 2) as [string, string]));
  } finally {
    redis.disconnect();
  }
}

function redisCliCreate(addresses: readonly string[], replicas: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const cli = spawn('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    cli.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    cli.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const timer = setTimeout(() => { cli.kill('SIGKILL'); reject(new Error(`redis-cli --cluster create did not finish within ${timeoutMs / 1000} s: ${output.slice(-2000)}`)); }, timeoutMs);
    cli.once('error', (err) => { clearTimeout(timer); reject(new Error(`redis-cli (Debian package redis-tools) could not run: ${err.message}`)); });
    cli.once('exit', (code) => {
      clearTimeout(timer);
      // redis-cli answers 0 even for some refusals; "[OK] All 16384 slots covered." is its success line.
      if (code === 0 && output.includes('All 16384 slots covered')) resolve();
      else reject(new Error(`redis-cli --cluster create failed (exit ${code}): ${output.slice(-2000)}`));
    });
  });
}
