import type { JsonValue } from '../base/index.ts';
import type { FinishReason, ProviderEvent, ProviderFailure, ProviderRoute, ToolCall } from './contract.ts';

/**
 * Reassembles a normalized event stream into one model turn, the way the agent loop and
 * tests need it: text joined, tool calls grouped by `index` in the model's order with their
 * arguments parsed, the last usage, the finish and any final error.
 */

/** One reassembled turn. */
export interface CollectedTurn {
  text: string;
  toolCalls: ToolCall[];
  /** The normalized finish reason, or null when the stream did not finish. */
  finish: FinishReason | null;
  /** The provider's own finish word, or null (absent, or no finish event). */
  finishReason: string | null;
  usage: { inputTokens: number; outputTokens: number } | null;
  error: ProviderFailure | null;
  /** Indexes of tool calls whose arguments were not valid JSON; they hold the raw string. */
  invalidArguments: number[];
  /** The last `route` the stream named (where the turn went), or null when it named none. */
  route: ProviderRoute | null;
}

/** Options of {@link collect}. */
export interface CollectOptions {
  /**
   * Prefix of the id given to a tool call the provider sent without one (some
   * OpenAI-compatible servers do): the id is the prefix and the call's index. Default
   * `call_`, which repeats across turns; the agent loop passes one unique to the request.
   */
  callIdPrefix?: string;
}

interface PartialCall {
  id: string | undefined;
  name: string | undefined;
  args: string;
}

/** Consumes `events` to the end and returns the turn they describe. */
export async function collect(events: AsyncIterable<ProviderEvent>, options: CollectOptions = {}): Promise<CollectedTurn> {
  let text = '';
  const calls = new Map<number, PartialCall>();
  const turn: CollectedTurn = { text: '', toolCalls: [], finish: null, finishReason: null, usage: null, error: null, invalidArguments: [], route: null };
  for await (const event of events) {
    switch (event.type) {
      case 'route':
        turn.route = event.route;
        break;
      case 'text_delta':
        text += event.text;
        break;
      case 'tool_call_delta': {
        const call = calls.get(event.index) ?? { id: undefined, name: undefined, args: '' };
        // The first delta of a call carries id and name; later ones (may) repeat or omit them.
        call.id ??= event.id;
        call.name ??= event.name;
        call.args += event.argumentsFragment;
        calls.set(event.index, call);
        break;
      }
      case 'usage':
        turn.usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
        break;
      case 'finish':
        turn.finish = event.reason;
        turn.finishReason = event.raw;
        break;
      case 'error':
        turn.error = event.error;
        break;
      default: {
        const unreachable: never = event;
        throw new Error(`Unknown provider event: ${JSON.stringify(unreachable)}`);
      }
    }
  }
  turn.text = text;
  const idPrefix = options.callIdPrefix ?? 'call_';
  const indexes = [...calls.keys()].sort((a, b) => a - b);
  for (const index of indexes) {
    const call = calls.get(index) as PartialCall;
    const parsed = parseArguments(call.args);
    // Positions in toolCalls, which is what readers index: providers may number calls from 1.
    if (parsed === undefined) turn.invalidArguments.push(turn.toolCalls.length);
    turn.toolCalls.push({ id: call.id ?? `${idPrefix}${index}`, name: call.name ?? '', arguments: parsed ?? call.args });
  }
  return turn;
}

/** Empty arguments mean a call without input: `{}`. Undefined means not JSON. */
function parseArguments(raw: string): JsonValue | undefined {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as JsonValue;
  } catch {
    return undefined;
  }
}
