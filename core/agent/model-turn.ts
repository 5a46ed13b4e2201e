/**
 * One model turn: stream the request, forward text deltas live, reassemble the turn, and
 * stop waiting on a stream that ignores its abort signal.
 */
import { collect, type CollectedTurn, type ProviderEvent, type ProviderFailure, type ProviderRequest, type ProviderRoute, type ModelProvider } from '../providers/index.ts';
import type { Interrupter } from './interrupt.ts';
import type { InterruptCause, TapeBody } from './tape-events.ts';

/** A reassembled turn (its route always set) and the interrupt seen when its stream ended. */
export interface StreamedTurn {
  turn: CollectedTurn & { route: ProviderRoute };
  interrupted: InterruptCause | null;
}

/** Options of {@link streamTurn}. */
export interface StreamTurnOptions {
  interrupter: Interrupter;
  onText?: (text: string) => void;
  /** Prefix of ids given to tool calls sent without one (see `collect`). */
  callIdPrefix: string;
}

/**
 * Streams `request` to `provider` and collects the turn.
 *
 * Invariant (replay): the interrupt is read once, when the stream has ended; when it is
 * set and the stream gave neither a finish nor an error, a `cancelled` error is added, so
 * the recorded turn does not depend on whether the provider or the abort won the race.
 * A stream that names no route (a single provider) went to `provider`, for `request.model`.
 */
export async function streamTurn(provider: ModelProvider, request: ProviderRequest, options: StreamTurnOptions): Promise<StreamedTurn> {
  const { interrupter, onText, callIdPrefix } = options;
  const turn = await collect(guarded(provider.stream(request), interrupter, onText), { callIdPrefix });
  const interrupted = interrupter.cause;
  if (interrupted !== null && turn.error === null && turn.finish === null) {
    turn.error = interruptedFailure(provider.id, interrupted);
  }
  const route = turn.route ?? { providerId: provider.id, model: request.model, failedOver: [] };
  return { turn: Object.assign(turn, { route }), interrupted };
}

/**
 * The `model.response` step of a streamed turn. `withRoute` is false only when replaying a
 * tape recorded before routes were, so it replays unchanged.
 */
export function responseBody(turnNo: number, streamed: StreamedTurn, withRoute: boolean): TapeBody<'model.response'> {
  const { text, toolCalls, invalidArguments, usage, finish, finishReason, error, route } = streamed.turn;
  const body: TapeBody<'model.response'> = { turn: turnNo, text, toolCalls, invalidArguments, usage, finish, finishReason, error: error === null ? null : failureJson(error), interrupted: streamed.interrupted };
  if (withRoute) body.route = { providerId: route.providerId, model: route.model, failedOver: route.failedOver.map((a) => ({ providerId: a.providerId, model: a.model, error: failureJson(a.error) })) };
  return body;
}

/**
 * Ids for tool calls the provider sent without one: unique in the run (and beyond) because
 * the request id is, and deterministic because that id is on the tape (`model.request`).
 */
export function callIdPrefixOf(requestId: string): string {
  return `call_${requestId}_`;
}

/** A provider failure as plain JSON: only the fields it has, so replayed and recorded forms compare equal. */
function failureJson<T extends object>(failure: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(failure)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** The failure recorded for a stream cut by an interrupt. */
export function interruptedFailure(providerId: string, cause: InterruptCause): ProviderFailure {
  return { code: 'cancelled', message: `Stream of provider "${providerId}" was interrupted (${cause === 'cancelled' ? 'run cancelled' : 'wall clock budget'})`, retryable: false };
}

async function* guarded(
  events: AsyncIterable<ProviderEvent>,
  interrupter: Interrupter,
  onText: ((text: string) => void) | undefined,
): AsyncGenerator<ProviderEvent> {
  const iterator = events[Symbol.asyncIterator]();
  let cut = false;
  try {
    for (;;) {
      const next = await interrupter.wait(iterator.next());
      if (typeof next === 'symbol') {
        cut = true;
        return;
      }
      if (next.done) return;
      const event = next.value;
      if (onText !== undefined && event.type === 'text_delta') onText(event.text);
      // Pulled to the end even after an error event (which the contract makes the last),
      // so a replayed stream can raise its recorded interrupt after its last event.
      yield event;
    }
  } finally {
    // Not awaited: a provider that ignores its signal must not hold the run.
    if (cut) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
