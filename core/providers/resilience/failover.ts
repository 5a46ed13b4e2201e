/**
 * Failover across providers in a fixed order. A provider that fails before streaming any
 * content is replaced by the next; once content reached the caller, the failure stands,
 * because a second model's answer cannot be spliced onto the first's. Before each attempt
 * the stream yields a `route` naming the provider and model asked and the attempts that
 * failed over before it, so the caller can record where the prompt went.
 */
import type { FailedAttempt, ModelProvider, ProviderErrorCode, ProviderEvent, ProviderFailure, ProviderRequest } from '../contract.ts';
import { cancelledFailure, failureEvent, guardedStream, isContent } from './failures.ts';

/** A failover candidate: a provider, optionally with the model name it should be asked for. */
export type FailoverCandidate = ModelProvider | { provider: ModelProvider; model: string };

/** One attempt, reported to `onAttempt` when it ends. */
export interface FailoverAttempt {
  providerId: string;
  /** Position in the failover order, from 0. */
  index: number;
  /**
   * `answered`: the stream ended without failure. `failed_over`: it failed before any
   * content and the next provider is tried. `failed`: its failure is the final one.
   */
  outcome: 'answered' | 'failed_over' | 'failed';
  failure?: ProviderFailure;
}

/** Options of {@link withFailover}. */
export interface FailoverOptions {
  /** The wrapper's id. Default: `failover(a,b,...)`. */
  id?: string;
  /** Called as each attempt ends; tells which provider answered a request. */
  onAttempt?: (attempt: FailoverAttempt) => void;
}

/**
 * Codes that end failover. `cancelled`: the caller gave up. `bad_request`: the request
 * itself is malformed and would be refused everywhere, spending every provider's quota.
 * Not listed, so they fail over: `auth` (one provider's key is bad, the next has its
 * own) and `context_length` (the next model may have a larger window).
 */
const FINAL_CODES: ReadonlySet<ProviderErrorCode> = new Set(['cancelled', 'bad_request']);

/** Wraps `candidates` into one provider that tries them in order. */
export function withFailover(candidates: readonly FailoverCandidate[], options: FailoverOptions = {}): ModelProvider {
  if (candidates.length === 0) throw new RangeError('withFailover needs at least one provider');
  const entries = candidates.map((c) => ('provider' in c ? c : { provider: c, model: undefined }));
  const id = options.id ?? `failover(${entries.map((e) => e.provider.id).join(',')})`;

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderEvent> {
    let last: ProviderFailure | undefined;
    const failedOver: FailedAttempt[] = [];
    for (const [index, { provider, model }] of entries.entries()) {
      if (request.signal?.aborted) {
        yield failureEvent(cancelledFailure(id));
        return;
      }
      let committed = false;
      let failure: ProviderFailure | undefined;
      const attemptRequest = model === undefined ? request : { ...request, model };
      yield { type: 'route', route: { providerId: provider.id, model: attemptRequest.model, failedOver: [...failedOver] } };
      for await (const event of guardedStream(provider, attemptRequest)) {
        if (event.type === 'error') {
          failure = event.error;
          break;
        }
        if (isContent(event)) committed = true;
        // A candidate that is itself a failover names a more precise route: ours go first.
        yield event.type === 'route' ? { type: 'route', route: { ...event.route, failedOver: [...failedOver, ...event.route.failedOver] } } : event;
      }
      const report = (outcome: FailoverAttempt['outcome']): void =>
        options.onAttempt?.({ providerId: provider.id, index, outcome, ...(failure ? { failure } : {}) });
      if (failure === undefined || committed) {
        report(failure === undefined ? 'answered' : 'failed');
        if (failure !== undefined) yield failureEvent(failure);
        return;
      }
      if (FINAL_CODES.has(failure.code)) {
        report('failed');
        yield failureEvent(failure);
        return;
      }
      last = failure;
      failedOver.push({ providerId: provider.id, model: attemptRequest.model, error: failure });
      report(index === entries.length - 1 ? 'failed' : 'failed_over');
    }
    // Invariant: reached only when every provider failed before content, so `last` is set.
    if (last !== undefined) yield failureEvent(summarize(last, entries.length));
  }

  return { id, stream };
}

/** The last failure, its message saying how many providers were tried when more than one. */
function summarize(failure: ProviderFailure, tried: number): ProviderFailure {
  if (tried === 1) return failure;
  return { ...failure, message: `All ${tried} providers failed; the last: ${failure.message}` };
}
