/**
 * The scripted provider: plays turns of a {@link Script} instead of calling a model. It is
 * the embedded default when no provider is configured and what tests use, so it is
 * deterministic: the same script and the same sequence of requests give the same events.
 */
import type { ModelProvider, ProviderEvent, ProviderRequest } from '../contract.ts';
import { realSleep, type Sleep } from '../resilience/sleep.ts';
import type { Script, ScriptTurn } from './script.ts';
import { matches, planTurn } from './turn-plan.ts';

/** Options of {@link createScriptedProvider}. */
export interface ScriptedProviderOptions {
  /** Default "scripted". */
  id?: string;
  /** Waits for turns with `delayMs`. Default: real timers. */
  sleep?: Sleep;
}

/** A scripted provider; `calls` counts streams started, for tests. */
export interface ScriptedProvider extends ModelProvider {
  readonly calls: number;
}

/**
 * Creates a provider playing `script`. Per call, the turn is chosen thus:
 * 1. the first turn with a `when` that holds for the request (stateless, so a rule
 *    answers every matching request; `when: {}` matches all);
 * 2. else the next turn without `when`, in script order, each played once — a sequence,
 *    e.g. an error then a success to exercise retries;
 * 3. else the script is exhausted and the stream is one `bad_request` error.
 * Aborting the request's signal ends the stream with `cancelled` at the next event.
 */
export function createScriptedProvider(script: Script, options: ScriptedProviderOptions = {}): ScriptedProvider {
  const id = options.id ?? 'scripted';
  const sleep = options.sleep ?? realSleep;
  const rules = script.turns.filter((turn) => turn.when !== undefined);
  const sequence = script.turns.filter((turn) => turn.when === undefined);
  let played = 0;
  let calls = 0;

  function select(request: ProviderRequest): ScriptTurn | undefined {
    const rule = rules.find((turn) => turn.when !== undefined && matches(turn.when, request));
    if (rule !== undefined) return rule;
    const next = sequence[played];
    if (next !== undefined) played++;
    return next;
  }

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderEvent> {
    calls++;
    const cancelled: ProviderEvent = {
      type: 'error',
      error: { code: 'cancelled', message: `Request to provider "${id}" was cancelled`, retryable: false },
    };
    if (request.signal?.aborted) {
      yield cancelled;
      return;
    }
    const turn = select(request);
    if (turn === undefined) {
      const message = `Script of provider "${id}" is exhausted: no turn matches call ${calls}`;
      yield { type: 'error', error: { code: 'bad_request', message, retryable: false } };
      return;
    }
    for (const { delayMs, event } of planTurn(turn, request)) {
      if (delayMs > 0) await sleep(delayMs, request.signal);
      if (request.signal?.aborted) {
        yield cancelled;
        return;
      }
      yield event;
    }
  }

  return {
    id,
    stream,
    get calls() {
      return calls;
    },
  };
}
