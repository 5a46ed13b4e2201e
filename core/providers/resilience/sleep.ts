/**
 * Waiting as a port. Resilience wrappers never call `setTimeout` themselves, so tests
 * drive backoff and queue timeouts with a fake that records delays and returns at once.
 */

/**
 * Waits `ms` milliseconds. Invariant: resolves (never rejects) as soon as `signal`
 * aborts, so a caller checks `signal.aborted` afterwards instead of catching.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The real timer-backed `Sleep`; the timer is cleared on abort so nothing lingers. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
