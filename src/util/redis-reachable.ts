/**
 * One bounded PING to a Redis URL (or a Redis Cluster URL), so a Redis that is not there is reported
 * within seconds naming the URL (ioredis alone retries and then says only "Reached the max retries per
 * request limit").
 */
import { connectRedis, redactRedisUrl } from './redis-endpoint.ts';

export { redactRedisUrl } from './redis-endpoint.ts';

export async function assertRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  const redis = connectRedis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => { lastError = error; });
  const timer = new Promise<never>((_resolve, reject) => {
    setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs).unref();
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), timer]);
  } catch (error) {
    const why = lastError?.message ?? (error as Error).message;
    throw new Error(`Redis at ${redactRedisUrl(url)} does not answer: ${why}`, { cause: error });
  } finally {
    redis.disconnect();
  }
}
