/**
 * Runs a started service until SIGINT/SIGTERM, then stops it within a bound. A second signal, or a
 * stop that overruns the bound, exits at once.
 */
import { logger } from '../util/log.ts';

const STOP_TIMEOUT_MS = 15_000;

export function stopOnSignals(stop: () => Promise<void>, what: string): Promise<void> {
  return new Promise((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      const log = logger.child({ component: 'cli' });
      if (stopping) {
        log.warn(`${signal} again: exiting without waiting for ${what} to stop`);
        process.exit(130);
      }
      stopping = true;
      log.info(`${signal}: stopping ${what}`);
      const overrun = setTimeout(() => {
        log.error(`${what} did not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting`);
        process.exit(1);
      }, STOP_TIMEOUT_MS);
      overrun.unref();
      stop()
        .catch((error: unknown) => log.error({ err: error }, `stopping ${what} failed`))
        .finally(() => {
          clearTimeout(overrun);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          log.info(`${what} stopped`);
          done();
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
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
