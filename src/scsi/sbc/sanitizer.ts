/**
 * The sanitize state of one LU (SBC-4 §4.11): at most one sanitize operation at a time, its progress,
 * and sanitize failure mode. An operation outlives the SANITIZE command that started it: ABORT TASK,
 * resets and nexus loss do not stop it (SBC-4 §4.11.2), and while it runs the LU is NOT READY, LOGICAL
 * UNIT NOT READY, SANITIZE IN PROGRESS to every nexus. A configured minimum duration stands in for the
 * hours a real drive takes, so initiators can watch the in-progress state.
 */
import { logger } from '../../util/log.ts';
import { senseFailure, type SenseFailure } from '../sense.ts';

/** Does the work; calls `progress(fraction)` as it goes (0..1). */
export type SanitizeWork = (progress: (fraction: number) => void) => Promise<void>;

interface Running {
  readonly started: number;
  readonly minimumMs: number;
  workDone: number;
}

export class Sanitizer {
  private running: Running | undefined;
  private failure: { readonly ause: boolean } | undefined;

  constructor(
    /** Each operation lasts at least this long (0: as fast as the backstore). */
    readonly minimumMs: number,
    private readonly label: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get inProgress(): boolean {
    return this.running !== undefined;
  }

  /** The last operation failed and no EXIT FAILURE MODE or successful sanitize followed. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** NOT READY, SANITIZE IN PROGRESS with the progress indication, while an operation runs. */
  notReady(): SenseFailure | undefined {
    const running = this.running;
    if (running === undefined) return undefined;
    const byTime = running.minimumMs > 0 ? (this.now() - running.started) / running.minimumMs : 1;
    return senseFailure('sanitize-in-progress', { progress: Math.min(running.workDone, byTime, 1) * 0xffff });
  }

  /**
   * Starts `work`; the promise settles when the operation has ended (undefined: success; otherwise
   * the sense the SANITIZE command reports). The caller checked that none is running.
   */
  start(work: SanitizeWork, ause: boolean): Promise<SenseFailure | undefined> {
    if (this.running !== undefined) throw new Error(`${this.label}: a sanitize operation is already running`);
    const started = this.now();
    this.running = { started, minimumMs: this.minimumMs, workDone: 0 };
    return this.run(work, ause, started);
  }

  /** EXIT FAILURE MODE: false (refused) when the failed operation was started with AUSE=0. */
  exitFailureMode(): boolean {
    if (this.failure !== undefined && !this.failure.ause) return false;
    this.failure = undefined;
    return true;
  }

  private async run(work: SanitizeWork, ause: boolean, started: number): Promise<SenseFailure | undefined> {
    let outcome: SenseFailure | undefined;
    try {
      await work((fraction) => {
        if (this.running !== undefined) this.running.workDone = fraction;
      });
      const remaining = this.minimumMs - (this.now() - started);
      if (remaining > 0) await new Promise((done) => setTimeout(done, remaining));
      this.failure = undefined;
    } catch (error) {
      // The medium is now partly sanitized: media access reports it until EXIT FAILURE MODE or a
      // sanitize that succeeds (SBC-4 §4.11.4); never a silent success.
      logger.child({ component: 'scsi' }).error({ err: error, lu: this.label }, 'sanitize operation failed');
      this.failure = { ause };
      outcome = senseFailure('sanitize-command-failed');
    }
    this.running = undefined;
    return outcome;
  }
}
