/**
 * Polls `check` until it holds or the bound passes; resolves whether it held. For states that have no
 * event to wait on: the bound only gives up on a hang, correctness never depends on timing.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    // eslint-disable-next-line no-restricted-syntax -- the poll step of the one sanctioned poll
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return check();
}
