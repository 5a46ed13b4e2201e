/**
 * The recommended stack of resilience wrappers for one provider, in the order that makes
 * each layer see what it should:
 *
 *   retries → concurrency lease → circuit breaker → adapter
 *
 * The breaker is innermost so it judges only the upstream's answers, never local queue
 * back-pressure. The lease sits outside it and inside retries, so a slot is held per
 * attempt but not while waiting between attempts. Retries are outermost; the breaker's
 * fail-fast failures are not retryable, so an open circuit ends retries at once and
 * failover (wrapped around several of these stacks) moves to the next provider.
 */
import type { Clock } from '../../base/index.ts';
import type { ModelProvider } from '../contract.ts';
import { withCircuitBreaker, type CircuitBreakerOptions, type CircuitStatus } from './circuit-breaker.ts';
import { withConcurrencyLimit, type ConcurrencyLimitOptions, type LeaseStatus } from './concurrency-limit.ts';
import { withRetries, type RetryOptions } from './retries.ts';
import type { Sleep } from './sleep.ts';

/** Options of {@link withResilience}; `sleep` is shared by retries and the lease queue. */
export interface ResilienceOptions {
  clock: Clock;
  sleep?: Sleep;
  retries?: Omit<RetryOptions, 'sleep'>;
  breaker?: Omit<CircuitBreakerOptions, 'clock'>;
  leases?: Omit<ConcurrencyLimitOptions, 'sleep'>;
}

/** Health of one resilient provider, for status pages. */
export interface ResilienceStatus {
  circuit: CircuitStatus;
  leases: LeaseStatus;
}

/** A provider wrapped by {@link withResilience}. */
export interface ResilientProvider extends ModelProvider {
  status(): ResilienceStatus;
}

/** Wraps `provider` in circuit breaker, concurrency leases and retries (see above). */
export function withResilience(provider: ModelProvider, options: ResilienceOptions): ResilientProvider {
  const shared = options.sleep === undefined ? {} : { sleep: options.sleep };
  const breaker = withCircuitBreaker(provider, { ...options.breaker, clock: options.clock });
  const leased = withConcurrencyLimit(breaker, { ...options.leases, ...shared });
  const retried = withRetries(leased, { ...options.retries, ...shared });
  return {
    id: provider.id,
    stream: (request) => retried.stream(request),
    status: () => ({ circuit: breaker.status(), leases: leased.status() }),
  };
}
