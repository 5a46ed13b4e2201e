/**
 * Reconnect delays of a worker: exponential from `initialMs`, capped at `maxMs`, with
 * "equal jitter" (half fixed, half random) so that workers cut off together by a daemon
 * restart do not all come back in the same millisecond, yet none retries sooner than
 * half its step.
 */

/** Bounds of the reconnect delay. */
export interface BackoffOptions {
  /** First delay (default 250 ms). */
  initialMs: number;
  /** Largest delay (default 30 s). */
  maxMs: number;
}

/** The defaults: 250 ms, doubling up to 30 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first after a drop), given a
 * random number in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions & { random: () => number }): number {
  const step = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + options.random() * (step / 2));
}
