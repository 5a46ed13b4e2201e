/**
 * Retries with jittered exponential backoff. A failed attempt is retried only while
 * nothing but `usage` has reached the caller: once text or a tool-call fragment was
 * streamed, a retry would duplicate it, so the failure is passed on instead. A server's
 * Retry-After is a floor, never shortened: when it asks for longer than `maxDelayMs`, the
 * failure is passed on (so failover can try the next provider) rather than retried early.
 */
import type { ModelProvider, ProviderEvent, ProviderFailure, ProviderRequest } from '../contract.ts';
import { cancelledFailure, failureEvent, guardedStream, isContent, isRetryable } from './failures.ts';
import { realSleep, type Sleep } from './sleep.ts';

/** What `onRetry` learns before each wait. */
export interface RetryInfo {
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  failure: ProviderFailure;
}

/** Options of {@link withRetries}. */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Backoff base: attempt n waits up to `baseDelayMs * 2^(n-1)`. Default 500. */
  baseDelayMs?: number;
  /**
   * Cap of every wait. A failure whose Retry-After exceeds it is not retried at all.
   * Default 30,000.
   */
  maxDelayMs?: number;
  /** Returns [0, 1); full jitter draws each wait from [0, cap). Default `Math.random`. */
  random?: () => number;
  /** Default: real timers. */
  sleep?: Sleep;
  /** Called before each wait, e.g. for logs and metrics. */
  onRetry?: (info: RetryInfo) => void;
}

/**
 * The wait before retry number `attempt` (1-based, the attempt that failed): full jitter
 * over the exponential cap (at most `maxDelayMs`), raised to the server's Retry-After when
 * it asked for more. Invariant: never below Retry-After; `withRetries` does not retry a
 * failure whose Retry-After exceeds `maxDelayMs`, so there the result stays within it.
 */
export function retryDelayMs(
  attempt: number,
  failure: ProviderFailure,
  options: { baseDelayMs: number; maxDelayMs: number; random: () => number },
): number {
  // 2^30 already exceeds any sane cap; clamping the exponent keeps the number finite.
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  const jittered = Math.floor(options.random() * cap);
  return Math.max(jittered, failure.retryAfterMs ?? 0);
}

/** Wraps `provider` so retryable failures before any content are retried. */
export function withRetries(provider: ModelProvider, options: RetryOptions = {}): ModelProvider {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const backoff = {
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    random: options.random ?? Math.random,
  };
  const sleep = options.sleep ?? realSleep;

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderEvent> {
    for (let attempt = 1; ; attempt++) {
      let committed = false;
      let failure: ProviderFailure | undefined;
      for await (const event of guardedStream(provider, request)) {
        if (event.type === 'error') {
          failure = event.error;
          break;
        }
        // Usage is not content: tokens were spent either way, so reporting them twice
        // across attempts is correct and does not block a retry (nor does a route).
        if (isContent(event)) committed = true;
        yield event;
      }
      if (failure === undefined) return;
      const waitsTooLong = (failure.retryAfterMs ?? 0) > backoff.maxDelayMs;
      if (committed || attempt >= maxAttempts || !isRetryable(failure) || waitsTooLong || request.signal?.aborted) {
        yield failureEvent(failure);
        return;
      }
      const delayMs = retryDelayMs(attempt, failure, backoff);
      options.onRetry?.({ attempt, delayMs, failure });
      await sleep(delayMs, request.signal);
      if (request.signal?.aborted) {
        yield failureEvent(cancelledFailure(provider.id));
        return;
      }
    }
  }

  return { id: provider.id, stream };
}
