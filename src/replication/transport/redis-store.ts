/**
 * KeyValueStore over one Redis or a Redis Cluster client. On a cluster a batch is one MULTI only when
 * all its keys share a hash tag (one slot); writes that span slots (a pair's config and the all-pairs
 * index) are applied one by one in the order given, and channels are published with SPUBLISH after the
 * writes. Callers order such writes so that a failure in between is repaired by the next reconcile
 * (the index is only how pairs are found; a pair's own keys never span slots). compareAndSet is a Lua
 * script on one key, atomic on one Redis and on a cluster alike.
 */
import type { ChainableCommander } from 'ioredis';
import { isCluster, type RedisClient } from '../../util/redis-endpoint.ts';
import type { BatchWrite, KeyValueStore, SetOptions } from './transport.ts';
import { UncopiedSet } from './uncopied-set.ts';

/** Binary values from this size on are written to the socket as they are (uncopied-set.ts). */
const UNCOPIED_FROM_BYTES = 64 * 1024;

/** KEYS[1]; ARGV: expected value, '1' when the key must be absent instead, new value. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '1' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1`;

export class RedisStore implements KeyValueStore {
  private readonly sharded: boolean;

  constructor(private readonly redis: RedisClient) {
    this.sharded = isCluster(redis);
  }

  get(key: string): Promise<string | null> { return this.redis.get(key); }
  getBuffer(key: string): Promise<Buffer | null> { return this.redis.getBuffer(key); }

  async set(key: string, value: string | Buffer, options: SetOptions = {}): Promise<boolean> {
    const { ttlMs, ifAbsent } = options;
    if (Buffer.isBuffer(value) && value.length >= UNCOPIED_FROM_BYTES) {
      const extra = [...(ttlMs === undefined ? [] : ['PX', String(ttlMs)]), ...(ifAbsent ? ['NX'] : [])];
      return (await this.redis.sendCommand(new UncopiedSet(key, value, extra))) === 'OK';
    }
    let reply: string | null;
    if (ttlMs !== undefined) reply = ifAbsent ? await this.redis.set(key, value, 'PX', ttlMs, 'NX') : await this.redis.set(key, value, 'PX', ttlMs);
    else reply = ifAbsent ? await this.redis.set(key, value, 'NX') : await this.redis.set(key, value);
    return reply === 'OK';
  }

  async del(...keys: string[]): Promise<number> {
    if (!this.sharded || sameSlot(keys)) return this.redis.del(...keys);
    let removed = 0;
    for (const key of keys) removed += await this.redis.del(key);
    return removed;
  }

  async exists(key: string): Promise<boolean> { return (await this.redis.exists(key)) === 1; }
  async sadd(key: string, ...members: string[]): Promise<void> { await this.redis.sadd(key, ...members); }
  smembers(key: string): Promise<string[]> { return this.redis.smembers(key); }
  async hset(key: string, fields: Readonly<Record<string, string>>): Promise<void> { await this.redis.hset(key, fields); }
  hgetall(key: string): Promise<Record<string, string>> { return this.redis.hgetall(key); }

  async publish(channel: string, message: string): Promise<void> {
    // Sharded pub/sub on a cluster: the message goes to the channel's shard only, not the whole bus.
    if (this.sharded) await this.redis.spublish(channel, message);
    else await this.redis.publish(channel, message);
  }

  async batch(writes: readonly BatchWrite[]): Promise<void> {
    if (!this.sharded) {
      const multi = this.redis.multi();
      for (const write of writes) queue(multi, write);
      throwFirstError(await multi.exec());
      return;
    }
    const keyed = writes.filter((w) => w.op !== 'publish');
    const published = writes.filter((w): w is Extract<BatchWrite, { op: 'publish' }> => w.op === 'publish');
    if (keyed.length > 0 && sameSlot(keyed.map((w) => w.key))) {
      const multi = this.redis.multi();
      for (const write of keyed) queue(multi, write);
      throwFirstError(await multi.exec());
    } else {
      for (const write of keyed) {
        const single = this.redis.multi();
        queue(single, write);
        throwFirstError(await single.exec());
      }
    }
    for (const write of published) await this.publish(write.channel, write.message);
  }

  async compareAndSet(key: string, expected: string | null, value: string): Promise<boolean> {
    // A Lua script runs atomically on the key's node; WATCH would need a connection of its own (this
    // one is shared by every pair, and another caller's EXEC in between would drop the watch).
    const wrote = await this.redis.eval(COMPARE_AND_SET, 1, key, expected ?? '', expected === null ? '1' : '0', value);
    return wrote === 1;
  }
}

function queue(multi: ChainableCommander, write: BatchWrite): void {
  if (write.op === 'set') {
    const { ttlMs, ifAbsent } = write.options ?? {};
    if (ttlMs !== undefined) { if (ifAbsent) multi.set(write.key, write.value, 'PX', ttlMs, 'NX'); else multi.set(write.key, write.value, 'PX', ttlMs); }
    else if (ifAbsent) multi.set(write.key, write.value, 'NX');
    else multi.set(write.key, write.value);
  } else if (write.op === 'sadd') multi.sadd(write.key, ...write.members);
  else multi.publish(write.channel, write.message);
}

function throwFirstError(results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error('redis transaction aborted');
  for (const [error] of results) if (error) throw error;
}

/**
 * Redis Cluster's hash tag rule: the part between the first `{` and the next `}` when not empty,
 * else the whole key. Keys with the same tag are in one slot.
 */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

function sameSlot(keys: readonly string[]): boolean {
  const first = keys[0];
  return first === undefined || keys.every((k) => hashTag(k) === hashTag(first));
}
