/**
 * Runs a started service until SIGINT/SIGTERM or the death of its parent process, then stops it
 * within a bound. A second signal, or a stop that overruns the bound, exits at once.
 */
import { logger } from '../util/log.ts';

const STOP_TIMEOUT_MS = 15_000;

/** Resolves once stopped: true when the stop succeeded, false when it failed (said on stderr). */
export function stopOnSignals(stop: () => Promise<void>, what: string): Promise<boolean> {
  return new Promise((done) => {
    let stopping = false;
    const log = logger.child({ component: 'cli' });
    const onStopRequest = (reason: string): void => {
      if (stopping) {
        log.warn(`${reason} again: exiting without waiting for ${what} to stop`);
        process.exit(130);
      }
      stopping = true;
      log.info(`${reason}: stopping ${what}`);
      const overrun = setTimeout(() => {
        log.error(`${what} did not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting`);
        process.exit(1);
      }, STOP_TIMEOUT_MS);
      overrun.unref();
      let clean = true;
      stop()
        .catch((error: unknown) => {
          clean = false;
          log.error({ err: error }, `stopping ${what} failed`);
          process.stderr.write(`iscsi-sim: stopping ${what} failed: ${(error as Error).message}\n`);
        })
        .finally(() => {
          clearTimeout(overrun);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          stopWatchingParent();
          log.info(`${what} stopped`);
          done(clean);
        });
    };
    const onSignal = (signal: NodeJS.Signals): void => onStopRequest(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // A signal may already be stopping us (the lab ties its children with PR_SET_PDEATHSIG): not a second request.
    const stopWatchingParent = whenParentExits((parent) => {
      if (!stopping) onStopRequest(`parent process ${parent} exited`);
    });
  });
}

const PARENT_POLL_MS = 1000;

/**
 * Calls `onExit` once when the process that started this one is gone. A supervisor that SIGTERMs
 * `npx iscsi-sim serve` kills npm and its `sh -c`, not us: without this the serve runs on orphaned,
 * holding its ports. An orphan is re-parented (to init or a subreaper), so a changed ppid means the
 * parent died. Nothing to watch when started by init itself (ppid 1, e.g. a systemd service).
 */
export function whenParentExits(onExit: (parent: number) => void, pollMs = PARENT_POLL_MS): () => void {
  const parent = process.ppid;
  if (parent <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onExit(parent);
  }, pollMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** One-line message and a non-zero exit code for errors people can fix (bad config, port in use). */
export function fail(message: string, exitCode = 1): never {
  process.stderr.write(`iscsi-sim: ${message}\n`);
  process.exit(exitCode);
}

/** Lets the log transport drain, then exits even if a stray handle keeps the loop alive. */
export function exitSoon(code = 0): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 500).unref();
}

/**
 * `iscsi-sim cim ei … | head -3`: once the reader is gone every write fails with EPIPE (Node ignores
 * SIGPIPE). Exit quietly as a Unix filter does instead of dying on an unhandled 'error' event.
 */
export function exitQuietlyWhenStdoutCloses(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
