/**
 * Where Redis is, as one string everywhere (config, flags, lab.json): `redis://host:port[/db]`,
 * `rediss://…`, or a Redis Cluster as `redis+cluster://[user:password@]h1:p1,h2:p2` (any reachable
 * nodes; the client learns the rest). `connectRedis` makes the matching ioredis client: a `Redis` or a
 * `Cluster`, which take the same commands.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export const CLUSTER_SCHEME = 'redis+cluster:';

/** A Redis or a Redis Cluster client (both take the same commands). */
export type RedisClient = Redis | Cluster;

export type RedisEndpoint =
  | { readonly kind: 'single'; readonly url: string }
  | {
    readonly kind: 'cluster';
    readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
    readonly username?: string;
    readonly password?: string;
  };

/** Parses a Redis URL; throws naming what is wrong. */
export function parseRedisEndpoint(url: string): RedisEndpoint {
  if (!url.toLowerCase().startsWith(`${CLUSTER_SCHEME}//`)) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error(`${JSON.stringify(url)}: the scheme must be redis:, rediss: or ${CLUSTER_SCHEME}`);
    return { kind: 'single', url };
  }
  let rest = url.slice(CLUSTER_SCHEME.length + 2).replace(/\/$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? credentials.slice(0, colon) : credentials) || undefined;
    password = colon >= 0 ? decodeURIComponent(credentials.slice(colon + 1)) : undefined;
  }
  if (rest === '') throw new Error(`${JSON.stringify(redactRedisUrl(url))}: a cluster URL names at least one node (redis+cluster://host:port,host:port)`);
  const nodes = rest.split(',').map((text) => clusterNode(text, url));
  return { kind: 'cluster', nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/** `host:port` (IPv6 as `[::1]:port`) of a cluster node; throws naming the bad part. */
export function clusterNode(text: string, context = text): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${JSON.stringify(redactRedisUrl(context))}: cluster node ${JSON.stringify(text)} is not host:port`);
  }
  return { host: (match[1] ?? match[2])!, port };
}

/** The cluster URL for these nodes (config `redis: {cluster: [...]}` is carried as this string). */
export function clusterUrl(nodes: readonly string[]): string {
  return `${CLUSTER_SCHEME}//${nodes.join(',')}`;
}

export function redactRedisUrl(url: string): string {
  if (url.toLowerCase().startsWith(`${CLUSTER_SCHEME}//`)) return url.replace(/\/\/([^@/]*):([^@/]*)@/, '//$1:***@');
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export interface ConnectOptions extends RedisOptions {
  /** CLIENT SETNAME of every connection this client opens (CLIENT LIST shows who holds what). */
  readonly connectionName?: string;
  /** Cluster only: SSUBSCRIBE/SPUBLISH through one subscriber connection per master. */
  readonly shardedSubscribers?: boolean;
}

/**
 * A client for the endpoint. On a cluster, `options` apply to each node connection; commands follow
 * MOVED/ASK and fail over with the cluster (a replica promoted), retried while the cluster settles.
 */
export function connectRedis(url: string, options: ConnectOptions = {}): RedisClient {
  const endpoint = parseRedisEndpoint(url);
  if (endpoint.kind === 'single') {
    const { shardedSubscribers: _sharded, ...single } = options;
    return new Redis(url, single);
  }
  const { shardedSubscribers, lazyConnect, maxRetriesPerRequest, enableOfflineQueue, retryStrategy: _retry, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    redisOptions: {
      ...nodeOptions,
      ...(endpoint.username ? { username: endpoint.username } : {}),
      ...(endpoint.password ? { password: endpoint.password } : {}),
    },
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(shardedSubscribers ? { shardedSubscribers: true } : {}),
    // While a master fails over, commands are retried until its replica is promoted (node timeout + election).
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    retryDelayOnTryAgain: 200,
    clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
    slotsRefreshTimeout: 2000,
  };
  return new Cluster(endpoint.nodes.map((n) => ({ host: n.host, port: n.port })), clusterOptions);
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}
