/**
 * Shared failure vocabulary of the resilience wrappers: which codes say "the upstream is
 * unhealthy", which may be retried, and a guard that keeps the "stream never throws"
 * promise of the contract even when a wrapped provider breaks it.
 */
import type { ModelProvider, ProviderErrorCode, ProviderEvent, ProviderFailure, ProviderRequest } from '../contract.ts';

/** Codes that say the upstream is struggling (not that the request is wrong). */
const HEALTH_CODES: ReadonlySet<ProviderErrorCode> = new Set([
  'rate_limited',
  'overloaded',
  'upstream',
  'network',
  'timeout',
]);

/**
 * Provider codes that mean an exhausted account rather than a momentary limit: retrying
 * a 429 "insufficient_quota" only burns time, so it is never retried.
 */
const QUOTA_PROVIDER_CODES: ReadonlySet<string> = new Set([
  'insufficient_quota',
  'quota_exceeded',
  'billing_hard_limit_reached',
]);

/** True when the failure counts against the upstream's health (circuit breaker). */
export function isHealthFailure(failure: ProviderFailure): boolean {
  return HEALTH_CODES.has(failure.code);
}

/**
 * True when the same request may be sent again: a health code, flagged retryable by the
 * adapter (which knows the wire), and not a quota exhaustion. `cancelled`, `auth`,
 * `bad_request` and `context_length` are never health codes, so they never retry.
 */
export function isRetryable(failure: ProviderFailure): boolean {
  if (!HEALTH_CODES.has(failure.code) || !failure.retryable) return false;
  return failure.providerCode === undefined || !QUOTA_PROVIDER_CODES.has(failure.providerCode);
}

/**
 * True when the event is content the caller may already have shown (text, a tool-call
 * fragment, a finish): after it, a retry or a failover would splice two answers. Usage
 * is accounting (tokens were spent either way) and a route is information; neither is.
 */
export function isContent(event: ProviderEvent): boolean {
  return event.type !== 'usage' && event.type !== 'route';
}

/** Builds an `error` event. */
export function failureEvent(failure: ProviderFailure): ProviderEvent {
  return { type: 'error', error: failure };
}

/** The failure every wrapper reports when the caller's signal aborted. */
export function cancelledFailure(providerId: string): ProviderFailure {
  return { code: 'cancelled', message: `Request to provider "${providerId}" was cancelled`, retryable: false };
}

/**
 * Streams from `provider`, turning a thrown exception into a final `upstream` error.
 * Why: the contract says `stream` never throws, and every wrapper relies on seeing
 * failures as events; a buggy adapter must not break that for the layers above.
 */
export async function* guardedStream(provider: ModelProvider, request: ProviderRequest): AsyncGenerator<ProviderEvent> {
  try {
    yield* provider.stream(request);
  } catch (error) {
    if (request.signal?.aborted) {
      yield failureEvent(cancelledFailure(provider.id));
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    yield failureEvent({ code: 'upstream', message: `Provider "${provider.id}" threw: ${reason}`, retryable: false });
  }
}
