/**
 * Keeps the lab's parts (redis-server, the systems) running: a part that exits without being asked to
 * is reported and started again with the same launch (same ports, same state dir) after a back-off; a
 * part that keeps dying (`maxDeaths` within `windowMs`) is reported and left down, while the rest keeps
 * running. A part taken down on purpose (takeDown) stays down until bringUp. stop() stops every part
 * (in parallel, those the others depend on last) and cancels pending restarts.
 */

/** One running process of a part. */
export interface Incarnation {
  readonly pid: number | undefined;
  /** Resolves once the process is gone, with how it ended ("code 1", "signal SIGKILL"). */
  readonly exited: Promise<string>;
  /** Clean stop; resolves once gone. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; resolves once gone. */
  kill(): Promise<void>;
}

export interface PartSpec {
  readonly name: string;
  /** Starts the part; resolves once it serves. Should give up (reject) when `signal` aborts. */
  launch(signal: AbortSignal): Promise<Incarnation>;
  /** Stopped after the other parts (what they depend on, e.g. Redis). */
  readonly stopLast?: boolean;
}

export type PartState = 'up' | 'restarting' | 'given-up' | 'down' | 'stopped';

export interface PartStatus {
  readonly name: string;
  readonly state: PartState;
  readonly pid: number | undefined;
  /** Unexpected exits so far. */
  readonly deaths: number;
}

export interface SupervisorEvent {
  readonly part: string;
  readonly kind: 'died' | 'restarted' | 'restart-failed' | 'given-up' | 'taken-down' | 'brought-up';
  readonly message: string;
}

export interface SupervisorPolicy {
  /** Delay before a restart, by the number of deaths within the window (1st, 2nd, …; the last repeats). */
  readonly backoffMs: readonly number[];
  readonly maxDeaths: number;
  readonly windowMs: number;
}

export const DEFAULT_POLICY: SupervisorPolicy = { backoffMs: [250, 1000, 2000, 4000, 8000], maxDeaths: 5, windowMs: 60_000 };

interface Part {
  readonly spec: PartSpec;
  state: PartState;
  current: Incarnation | undefined;
  readonly deathTimes: number[];
  deaths: number;
  timer: NodeJS.Timeout | undefined;
  restarting: Promise<void> | undefined;
}

export class Supervisor {
  private readonly parts: Part[] = [];
  private readonly abort = new AbortController();
  private stopping = false;

  constructor(
    private readonly onEvent: (event: SupervisorEvent) => void,
    private readonly policy: SupervisorPolicy = DEFAULT_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a part for the first time; a failure here is the caller's (nothing is retried). */
  async add(spec: PartSpec): Promise<Incarnation> {
    const incarnation = await spec.launch(this.abort.signal);
    const part: Part = { spec, state: 'up', current: incarnation, deathTimes: [], deaths: 0, timer: undefined, restarting: undefined };
    this.parts.push(part);
    this.watch(part, incarnation);
    return incarnation;
  }

  status(): PartStatus[] {
    return this.parts.map((p) => ({ name: p.spec.name, state: p.state, pid: p.state === 'up' ? p.current?.pid : undefined, deaths: p.deaths }));
  }

  /** Stops a part on purpose (cleanly, or SIGKILL with `abrupt`); it is not restarted until bringUp. */
  async takeDown(name: string, abrupt: boolean): Promise<string> {
    const part = this.part(name);
    if (part.state === 'down') return `${name} is already down`;
    clearTimeout(part.timer);
    await part.restarting?.catch(() => undefined);
    part.state = 'down';
    const current = part.current;
    part.current = undefined;
    if (current) await (abrupt ? current.kill() : current.stop());
    const message = `${name} taken down on purpose${abrupt ? ' (SIGKILL)' : ''}${current?.pid === undefined ? '' : `, pid ${current.pid}`}; it stays down until \`iscsi-sim site up ${name}\``;
    this.onEvent({ part: name, kind: 'taken-down', message });
    return message;
  }

  /** Starts a part that was taken down, or given up on (its death count starts afresh). */
  async bringUp(name: string): Promise<string> {
    const part = this.part(name);
    if (part.state === 'up') return `${name} is already up${part.current?.pid === undefined ? '' : ` (pid ${part.current.pid})`}`;
    if (part.state === 'restarting') return `${name} is being restarted already`;
    if (part.state === 'stopped') throw new Error('the lab is stopping');
    part.state = 'restarting';
    part.deathTimes.length = 0;
    const started = this.now();
    try {
      const incarnation = await part.spec.launch(this.abort.signal);
      if (this.stopping) { await incarnation.stop(); throw new Error('the lab is stopping'); }
      part.current = incarnation;
      part.state = 'up';
      this.watch(part, incarnation);
      const message = `${name} brought up${incarnation.pid === undefined ? '' : ` (pid ${incarnation.pid})`} in ${((this.now() - started) / 1000).toFixed(1)} s`;
      this.onEvent({ part: name, kind: 'brought-up', message });
      return message;
    } catch (error) {
      if (part.state === 'restarting') part.state = 'down';
      throw error;
    }
  }

  private part(name: string): Part {
    const part = this.parts.find((p) => p.spec.name === name);
    if (!part) throw new Error(`no part named "${name}" (the lab has ${this.parts.map((p) => p.spec.name).join(', ')})`);
    return part;
  }

  /** Stops every part (those marked stopLast after the others) and cancels pending restarts. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    const stopPart = async (part: Part): Promise<void> => {
      clearTimeout(part.timer);
      await part.restarting?.catch(() => undefined);
      part.state = 'stopped';
      const current = part.current;
      part.current = undefined;
      await current?.stop();
    };
    // Every part is stopped even when one fails; the failures are reported together afterwards.
    const outcomes = [
      ...await Promise.allSettled(this.parts.filter((p) => p.spec.stopLast !== true).map(stopPart)),
      ...await Promise.allSettled(this.parts.filter((p) => p.spec.stopLast === true).map(stopPart)),
    ];
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
    if (failures.length > 0) throw new Error(failures.join('; '));
  }

  private watch(part: Part, incarnation: Incarnation): void {
    void incarnation.exited.then((how) => {
      if (this.stopping || part.current !== incarnation) return;
      part.current = undefined;
      this.died(part, `${part.spec.name} exited unexpectedly (${how}${incarnation.pid === undefined ? '' : `, pid ${incarnation.pid}`})`);
    });
  }

  private died(part: Part, what: string): void {
    const at = this.now();
    part.deaths++;
    part.deathTimes.push(at);
    while (part.deathTimes.length > 0 && part.deathTimes[0]! <= at - this.policy.windowMs) part.deathTimes.shift();
    if (part.deathTimes.length >= this.policy.maxDeaths) {
      part.state = 'given-up';
      this.onEvent({
        part: part.spec.name, kind: 'given-up',
        message: `${what}; it died ${part.deathTimes.length} times within ${this.policy.windowMs / 1000} s: not restarting it (the rest keeps running)`,
      });
      return;
    }
    const delay = this.policy.backoffMs[Math.min(part.deathTimes.length - 1, this.policy.backoffMs.length - 1)] ?? 1000;
    part.state = 'restarting';
    this.onEvent({ part: part.spec.name, kind: 'died', message: `${what}; restarting it in ${delay < 1000 ? `${delay} ms` : `${(delay / 1000).toFixed(1)} s`}` });
    part.timer = setTimeout(() => { part.restarting = this.restart(part, at); }, delay);
  }

  private async restart(part: Part, diedAt: number): Promise<void> {
    if (this.stopping) return;
    try {
      const incarnation = await part.spec.launch(this.abort.signal);
      if (this.stopping) { await incarnation.stop(); return; }
      part.current = incarnation;
      part.state = 'up';
      this.onEvent({
        part: part.spec.name, kind: 'restarted',
        message: `${part.spec.name} restarted${incarnation.pid === undefined ? '' : ` (pid ${incarnation.pid})`}, ${((this.now() - diedAt) / 1000).toFixed(1)} s after it died`,
      });
      this.watch(part, incarnation);
    } catch (error) {
      if (this.stopping) return;
      this.onEvent({ part: part.spec.name, kind: 'restart-failed', message: `restarting ${part.spec.name} failed: ${(error as Error).message}` });
      this.died(part, `${part.spec.name} did not come back`);
    } finally {
      part.restarting = undefined;
    }
  }
}
