/** Waits on a condition that changes only when the pair progresses (an ack, a phase change, close). */
export class ProgressSignal {
  private readonly checks = new Set<() => void>();

  /** Resolves true once `done` holds (re-checked on every `notify`), false after `timeoutMs` or once `stopped` holds. */
  until(done: () => boolean, timeoutMs: number, stopped: () => boolean): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean): void => { clearTimeout(timer); this.checks.delete(check); resolve(result); };
      const check = (): void => { if (done()) finish(true); else if (stopped()) finish(false); };
      const timer = setTimeout(() => finish(done()), timeoutMs);
      this.checks.add(check);
    });
  }

  notify(): void {
    for (const check of [...this.checks]) check();
  }
}
