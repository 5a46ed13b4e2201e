/**
 * One model turn: stream the request, forward text deltas live, reassemble the turn, and
 * stop waiting on a stream that ignores its abort signal.
 */
import { collect, type CollectedTurn, type ProviderEvent, type ProviderFailure, type ProviderRequest, type ModelProvider } from '../providers/index.ts';
import type { Interrupter } from './interrupt.ts';
import type { InterruptCause } from './tape-events.ts';

/** A reassembled turn and the interrupt seen when its stream ended. */
export interface StreamedTurn {
  turn: CollectedTurn;
  interrupted: InterruptCause | null;
}

/**
 * Streams `request` to `provider` and collects the turn.
 *
 * Invariant (replay): the interrupt is read once, when the stream has ended; when it is
 * set and the stream gave neither a finish nor an error, a `cancelled` error is added, so
 * the recorded turn does not depend on whether the provider or the abort won the race.
 */
export async function streamTurn(provider: ModelProvider, request: ProviderRequest, options: { interrupter: Interrupter; onText?: (text: string) => void }): Promise<StreamedTurn> {
  const { interrupter, onText } = options;
  const turn = await collect(guarded(provider.stream(request), interrupter, onText));
  const interrupted = interrupter.cause;
  if (interrupted !== null && turn.error === null && turn.finish === null) {
    turn.error = interruptedFailure(provider.id, interrupted);
  }
  return { turn, interrupted };
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
