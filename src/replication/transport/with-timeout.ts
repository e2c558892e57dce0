/** Bounds a call to the store so a caller never waits on it for ever. */

const STORE_TIMEOUT_MS = 3000;

/** Rejects naming `what` once `ms` passed without `promise` settling. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = STORE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis ${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
