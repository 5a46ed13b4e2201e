/**
 * How often one worker may connect: a token bucket per worker name, checked before the
 * upgrade. Each connection costs the daemon a schema compile and two journal events
 * (connected, disconnected); a token holder reconnecting in a loop would otherwise turn
 * that into a steady load and an ever-growing journal. The backoff of a well-behaved
 * worker (250 ms doubling to 30 s) stays far below the default.
 */

/** Connections per worker name: up to `perMinute` at once, then one every 60/`perMinute` s. */
export class ConnectRateLimiter {
  readonly #perMinute: number;
  readonly #now: () => number;
  /** Invariant: only names whose bucket is not full; a full bucket is the same as none. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `now` is monotonic milliseconds (default `performance.now`); `perMinute` 0 turns the limit off. */
  constructor(perMinute: number, options: { now?: () => number } = {}) {
    this.#perMinute = perMinute;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Takes one connection from `worker`'s allowance: 0 when it may connect, else the seconds until it may. */
  take(worker: string): number {
    if (this.#perMinute <= 0) return 0;
    const now = this.#now();
    this.#forgetFull(now);
    const bucket = this.#buckets.get(worker) ?? { tokens: this.#perMinute, at: now };
    const tokens = this.#refilled(bucket, now);
    if (tokens < 1) return Math.ceil(((1 - tokens) * 60) / this.#perMinute);
    this.#buckets.set(worker, { tokens: tokens - 1, at: now });
    return 0;
  }

  #refilled(bucket: { tokens: number; at: number }, now: number): number {
    return Math.min(this.#perMinute, bucket.tokens + ((now - bucket.at) * this.#perMinute) / 60_000);
  }

  // Names come from the daemon's own tokens, so the map is small; this keeps it to the
  // workers that connected within the last minute all the same.
  #forgetFull(now: number): void {
    for (const [worker, bucket] of this.#buckets) if (this.#refilled(bucket, now) >= this.#perMinute) this.#buckets.delete(worker);
  }
}
