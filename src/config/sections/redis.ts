/**
 * `redisUrl:` or `redis:` (one Redis or a Redis Cluster), carried on as one URL.
 */
import { ConfigError } from '../errors.ts';
import { Fields, describe } from '../fields.ts';
import { CLUSTER_SCHEME, clusterNode, clusterUrl, parseRedisEndpoint } from '../../util/redis-endpoint.ts';
import { url } from './values.ts';

/**
 * `redisUrl: redis://…` (or `redis+cluster://h1:p1,h2:p2`), or `redis: {url: …}` / `redis: {cluster:
 * [host:port, …]}`; carried on as one URL string (util/redis-endpoint.ts reads it).
 */
export function redisUrlOf(root: Fields): { redisUrl?: string } {
  if (root.has('redisUrl') && root.has('redis')) root.fail('redis', 'give either redis or redisUrl, not both');
  if (root.has('redisUrl')) return { redisUrl: redisUrlField(root, 'redisUrl') };
  if (!root.has('redis')) return {};
  const fields = Fields.of(root.raw('redis'), root.at('redis'), ['url', 'cluster']);
  if (fields.has('url') === fields.has('cluster')) fields.fail(fields.has('url') ? 'cluster' : 'url', 'give either url or cluster (a list of host:port)');
  if (fields.has('url')) return { redisUrl: redisUrlField(fields, 'url') };
  const nodes = fields.list('cluster').map(({ value, path }) => {
    if (typeof value !== 'string') throw new ConfigError(path, `expected host:port, got ${describe(value)}`);
    try {
      clusterNode(value);
    } catch {
      throw new ConfigError(path, `${JSON.stringify(value)} is not host:port`);
    }
    return value.trim();
  });
  if (nodes.length === 0) fields.fail('cluster', 'name at least one node (host:port)');
  return { redisUrl: clusterUrl(nodes) };
}

function redisUrlField(fields: Fields, key: string): string {
  const text = fields.string(key);
  if (!text.toLowerCase().startsWith(`${CLUSTER_SCHEME}//`)) return url(fields, key, ['redis:', 'rediss:', CLUSTER_SCHEME]);
  try {
    parseRedisEndpoint(text);
  } catch (error) {
    return fields.fail(key, (error as Error).message);
  }
  return text;
}
