/**
 * A circuit breaker per provider. After `failureThreshold` consecutive upstream-health
 * failures the circuit opens and calls fail fast for `openMs`, sparing a struggling
 * upstream and letting failover move on at once; then `halfOpenProbes` calls go through
 * as probes, and one success closes the circuit again.
 */
import type { Clock } from '../../base/index.ts';
import type { ModelProvider, ProviderEvent, ProviderFailure, ProviderRequest } from '../contract.ts';
import { failureEvent, guardedStream, isHealthFailure } from './failures.ts';

/** The breaker's state, as shown on status pages. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** A snapshot for status pages. */
export interface CircuitStatus {
  state: CircuitState;
  consecutiveFailures: number;
  /** When the open circuit lets probes through (epoch ms); null unless open. */
  retryAt: number | null;
}

/** Options of {@link withCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive health failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open. Default 30,000 ms. */
  openMs?: number;
  /** Concurrent probes allowed while half-open. Default 1. */
  halfOpenProbes?: number;
  clock: Clock;
}

/** A provider behind a breaker, with its state exposed. */
export interface CircuitBreakerProvider extends ModelProvider {
  status(): CircuitStatus;
}

/** The `providerCode` of fail-fast failures, so callers can tell them from real ones. */
export const CIRCUIT_OPEN_CODE = 'circuit_open';

/** How one call ended, from the breaker's point of view. */
type Outcome = 'healthy' | 'unhealthy' | 'neutral';

/**
 * Wraps `provider` in a circuit breaker. Outcomes: a stream that ends without error, or
 * with `auth`/`bad_request`/`context_length` (the upstream answered), is healthy and
 * resets the count; a health failure counts; `cancelled` or a consumer that stops early
 * says nothing about the upstream and changes nothing.
 */
export function withCircuitBreaker(provider: ModelProvider, options: CircuitBreakerOptions): CircuitBreakerProvider {
  const threshold = Math.max(1, options.failureThreshold ?? 5);
  const openMs = options.openMs ?? 30_000;
  const maxProbes = Math.max(1, options.halfOpenProbes ?? 1);
  const { clock } = options;
  let state: CircuitState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probesInFlight = 0;

  // Invariant: open → half_open happens lazily here, on the next call or status read, so
  // the breaker needs no timer and a fake clock drives it fully.
  function current(): CircuitState {
    if (state === 'open' && clock.now() >= openedAt + openMs) state = 'half_open';
    return state;
  }

  function record(outcome: Outcome, probe: boolean): void {
    if (probe) probesInFlight--;
    if (outcome === 'healthy') {
      failures = 0;
      state = 'closed';
    } else if (outcome === 'unhealthy') {
      failures++;
      // A failed probe reopens at once; a closed circuit waits for the threshold.
      if (probe || state === 'half_open' || failures >= threshold) {
        state = 'open';
        openedAt = clock.now();
      }
    }
  }

  function fastFailure(): ProviderFailure {
    const waitMs = Math.max(0, openedAt + openMs - clock.now());
    return {
      code: 'overloaded',
      message: `Circuit for provider "${provider.id}" is open after ${failures} consecutive failures`,
      // Not retryable: waiting out the circuit belongs to the breaker, and failover
      // should move to the next provider right away.
      retryable: false,
      retryAfterMs: waitMs,
      providerCode: CIRCUIT_OPEN_CODE,
    };
  }

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderEvent> {
    const now = current();
    const probe = now === 'half_open';
    if (now === 'open' || (probe && probesInFlight >= maxProbes)) {
      yield failureEvent(fastFailure());
      return;
    }
    if (probe) probesInFlight++;
    let outcome: Outcome = 'neutral';
    try {
      let failed = false;
      for await (const event of guardedStream(provider, request)) {
        if (event.type === 'error') {
          failed = true;
          outcome = classify(event.error);
        }
        yield event;
      }
      // Reached only when the stream ran to its end (not on an early consumer exit): an
      // end without failure means the upstream answered.
      if (!failed) outcome = 'healthy';
    } finally {
      // Runs also when the consumer stops iterating early; the probe slot must be freed.
      record(outcome, probe);
    }
  }

  return {
    id: provider.id,
    stream,
    status: () => {
      const s = current();
      return { state: s, consecutiveFailures: failures, retryAt: s === 'open' ? openedAt + openMs : null };
    },
  };
}

function classify(failure: ProviderFailure): Outcome {
  if (failure.code === 'cancelled') return 'neutral';
  return isHealthFailure(failure) ? 'unhealthy' : 'healthy';
}
