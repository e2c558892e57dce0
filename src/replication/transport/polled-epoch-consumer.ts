/**
 * The replica side of a pair's BullMQ queue without a connection of its own. A BullMQ Worker normally
 * blocks (BZPOPMIN) on a dedicated connection per queue, which would make a system's connections grow
 * with its pairs. This one is a Worker on the system's shared connection that never blocks: it takes
 * jobs (moveToActive, non-blocking) when woken — by the pair's epoch notification, by a reconnect, or by
 * the transport's slow sweep — and completes or fails them as BullMQ does (attempts and back-off kept;
 * a job whose lock lapsed is moved back by the sweep's stalled check).
 */
import { createRedisBackend, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../../util/redis-endpoint.ts';
import { pairKeys } from '../keys.ts';
import { withTimeout } from './with-timeout.ts';
import type { EpochConsumer, EpochConsumerOptions, EpochJob, EpochJobData } from './transport.ts';

const CLOSE_BOUND_MS = 5000;
const RETRY_WAKES_MS = [300, 1000, 3000];

export class PolledEpochConsumer implements EpochConsumer {
  private readonly worker: Worker<EpochJobData>;
  private running = false;
  private again = false;
  private closed = false;
  private sequence = 0;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    pairId: string,
    connection: RedisClient,
    private readonly handler: (job: EpochJob) => Promise<void>,
    private readonly options: EpochConsumerOptions,
    private readonly onClose: (consumer: PolledEpochConsumer) => void,
  ) {
    const keys = pairKeys(pairId);
    this.worker = new Worker<EpochJobData>(keys.queueName, null, {
      connection,
      prefix: keys.queuePrefix,
      concurrency: options.concurrency,
      autorun: false,
    }, (name, opts) => createRedisBackend(name, opts, { blocking: false }));
    this.worker.on('error', options.onError);
  }

  /** Takes every job waiting now (again after the current pass if one runs). */
  wake(): void {
    if (this.closed) return;
    if (this.running) { this.again = true; return; }
    this.running = true;
    this.idle = this.drain().finally(() => { this.running = false; });
  }

  /** Jobs whose lock lapsed (this process died mid-job) go back to wait, then are taken. */
  async sweep(): Promise<void> {
    if (this.closed) return;
    // BullMQ's two-pass stalled check (a job is moved back only when seen without lock twice); the
    // Worker's own loop would be one timer per pair.
    await this.worker.getBackend().moveStalledJobsToWait().catch(() => undefined);
    this.wake();
  }

  async close(force: boolean): Promise<void> {
    this.closed = true;
    this.onClose(this);
    if (!force) await withTimeout(this.idle, 'consumer drain', CLOSE_BOUND_MS).catch(() => undefined);
    await withTimeout(this.worker.close(true), 'consumer close', CLOSE_BOUND_MS).catch(() => undefined);
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        for (;;) {
          const taken = await this.take(1);
          if (taken.length === 0) break;
          // One waiting means more may wait (a backlog): take the rest of a pass in one round trip.
          if (this.options.concurrency > 1) taken.push(...await this.take(this.options.concurrency - 1));
          await Promise.all(taken.map(({ job, token }) => this.process(job, token)));
        }
      } while (this.again && !this.closed);
    } catch (err) {
      // Redis unreachable: the next notification, reconnect or sweep takes the jobs.
      this.options.onError(err as Error);
    }
  }

  /** Up to `count` waiting jobs, asked for at once (the shared connection pipelines the calls). */
  private async take(count: number): Promise<Array<{ job: Job<EpochJobData>; token: string }>> {
    if (this.closed) return [];
    const tokens = Array.from({ length: count }, () => `${this.worker.id}:${++this.sequence}`);
    const jobs = await Promise.all(tokens.map((token) => this.worker.getNextJob(token, { block: false }) as Promise<Job<EpochJobData> | undefined>));
    return jobs.flatMap((job, i) => (job ? [{ job, token: tokens[i]! }] : []));
  }

  private async process(job: Job<EpochJobData>, token: string): Promise<void> {
    try {
      await this.handler({ id: job.id, data: job.data as EpochJobData | undefined });
      await job.moveToCompleted(undefined, token, false);
    } catch (err) {
      await job.moveToFailed(err as Error, token, false).catch((failure: Error) => this.options.onError(failure));
      // BullMQ delays the retry (back-off from 200 ms); look again once it is due rather than at the sweep.
      for (const ms of RETRY_WAKES_MS) setTimeout(() => this.wake(), ms).unref();
    }
  }
}
