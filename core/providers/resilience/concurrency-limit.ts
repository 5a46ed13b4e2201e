/**
 * Concurrency leases per provider: at most `max` streams run at once, the rest wait in a
 * bounded FIFO queue. A lease covers the whole stream, from before the request until the
 * stream ends, fails or the consumer stops iterating, so a slow reader holds its slot.
 */
import type { ModelProvider, ProviderEvent, ProviderFailure, ProviderRequest } from '../contract.ts';
import { cancelledFailure, failureEvent, guardedStream } from './failures.ts';
import { realSleep, type Sleep } from './sleep.ts';

/** Options of {@link withConcurrencyLimit}. */
export interface ConcurrencyLimitOptions {
  /** Streams running at once. Default 4. */
  max?: number;
  /** Callers allowed to wait; one more fails at once with `rate_limited`. Default 100. */
  queueLimit?: number;
  /** How long a caller may wait for a slot; unset waits as long as it takes. */
  queueTimeoutMs?: number;
  /** Default: real timers. Used only for the queue timeout. */
  sleep?: Sleep;
}

/** Lease counts for status pages. */
export interface LeaseStatus {
  active: number;
  waiting: number;
  max: number;
}

/** A provider behind a lease limiter, with its counts exposed. */
export interface ConcurrencyLimitedProvider extends ModelProvider {
  status(): LeaseStatus;
}

/** `providerCode` values of the limiter's own failures. */
export const LEASE_QUEUE_FULL_CODE = 'lease_queue_full';
export const LEASE_QUEUE_TIMEOUT_CODE = 'lease_queue_timeout';

type Waiter = { grant: () => void };
type Acquired = 'granted' | 'timeout' | 'cancelled';

/** Wraps `provider` so at most `max` of its streams run at once. */
export function withConcurrencyLimit(
  provider: ModelProvider,
  options: ConcurrencyLimitOptions = {},
): ConcurrencyLimitedProvider {
  const max = Math.max(1, options.max ?? 4);
  const queueLimit = Math.max(0, options.queueLimit ?? 100);
  const sleep = options.sleep ?? realSleep;
  let active = 0;
  const queue: Waiter[] = [];

  function release(): void {
    // Invariant: a slot passes straight to the first waiter, so `active` never dips and
    // a newcomer cannot overtake the queue.
    const next = queue.shift();
    if (next === undefined) active--;
    else next.grant();
  }

  async function acquire(signal: AbortSignal | undefined): Promise<Acquired> {
    if (active < max) {
      active++;
      return 'granted';
    }
    // Stops the timeout sleep once the wait is over, whichever way it ended.
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let granted = false;
    const waiter: Waiter = {
      grant: () => {
        granted = true;
        stop.abort();
      },
    };
    queue.push(waiter);
    try {
      const timeout = options.queueTimeoutMs;
      await (timeout === undefined ? aborted(stop.signal) : sleep(timeout, stop.signal));
      if (granted) return 'granted';
      queue.splice(queue.indexOf(waiter), 1);
      return signal?.aborted ? 'cancelled' : 'timeout';
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderEvent> {
    if (request.signal?.aborted) {
      yield failureEvent(cancelledFailure(provider.id));
      return;
    }
    if (active >= max && queue.length >= queueLimit) {
      yield failureEvent(limitFailure(provider.id, LEASE_QUEUE_FULL_CODE, `${queue.length} callers already waiting`));
      return;
    }
    const acquired = await acquire(request.signal);
    if (acquired === 'cancelled') {
      yield failureEvent(cancelledFailure(provider.id));
      return;
    }
    if (acquired === 'timeout') {
      const detail = `no slot freed within ${options.queueTimeoutMs} ms`;
      yield failureEvent(limitFailure(provider.id, LEASE_QUEUE_TIMEOUT_CODE, detail));
      return;
    }
    try {
      yield* guardedStream(provider, request);
    } finally {
      release();
    }
  }

  return { id: provider.id, stream, status: () => ({ active, waiting: queue.length, max }) };
}

function limitFailure(providerId: string, providerCode: string, detail: string): ProviderFailure {
  return {
    code: 'rate_limited',
    message: `Too many concurrent requests to provider "${providerId}": ${detail}`,
    // Local back-pressure clears as streams end, so a later attempt may well succeed.
    retryable: true,
    providerCode,
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
