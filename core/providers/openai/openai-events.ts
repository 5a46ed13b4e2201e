import type { FinishReason, ProviderEvent } from '../contract.ts';
import { classifyErrorObject, malformedFailure, type ProviderErrorObject } from '../http-errors.ts';

/**
 * Maps OpenAI chat completion chunks (and whole non-streaming responses) to normalized events.
 *
 * Refusals: `delta.refusal` / `message.refusal` text is emitted as `text_delta` so the user
 * sees why nothing else came, and the finish becomes `content_filter` (raw stays as sent,
 * usually "stop"). The contract has no refusal event, and a refusal is a filtered answer.
 */

interface Choice {
  index?: number;
  delta?: Delta;
  message?: Delta;
  finish_reason?: string | null;
}
interface Delta {
  content?: string | null;
  refusal?: string | null;
  tool_calls?: WireToolCall[] | null;
}
interface WireToolCall {
  index?: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}
interface Chunk {
  choices?: Choice[] | null;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: ProviderErrorObject | null;
}

/** The state of one streamed completion. Feed it each `data:` payload, then call `end()`. */
export class OpenAiStreamMapper {
  private finishRaw: string | null = null;
  private sawDone = false;
  private sawToolCall = false;
  private refused = false;
  private nextIndex = 0;
  private readonly ids: string[] = [];

  constructor(private readonly provider: string) {}

  /** Events for one SSE `data` payload; returns `done` after `[DONE]` or an error. */
  push(data: string): { events: ProviderEvent[]; done: boolean } {
    if (data.trim() === '[DONE]') {
      this.sawDone = true;
      return { events: [], done: true };
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      return { events: [{ type: 'error', error: malformedFailure(this.provider, 'a stream chunk is not JSON') }], done: true };
    }
    if (chunk.error !== undefined && chunk.error !== null) {
      return { events: [{ type: 'error', error: classifyErrorObject(this.provider, chunk.error) }], done: true };
    }
    const events: ProviderEvent[] = [];
    // Only the first choice is used: palyrad never asks for n > 1.
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    if (choice !== undefined) this.pushChoice(choice, choice.delta ?? {}, events);
    // Invariant: include_usage sends `usage: null` on every chunk, then one chunk with real usage.
    if (chunk.usage !== undefined && chunk.usage !== null) events.push(usageEvent(chunk.usage));
    return { events, done: false };
  }

  /** The closing events once the body ended (after `[DONE]` or EOF). */
  end(): ProviderEvent[] {
    if (this.finishRaw === null && !this.sawDone) {
      return [{ type: 'error', error: malformedFailure(this.provider, 'the stream ended before a finish reason or [DONE]') }];
    }
    return [{ type: 'finish', reason: this.reason(), raw: this.finishRaw }];
  }

  /** Used for both a streamed `delta` and a non-streamed `message`. */
  pushChoice(choice: Choice, delta: Delta, events: ProviderEvent[]): void {
    if (typeof delta.content === 'string' && delta.content !== '') events.push({ type: 'text_delta', text: delta.content });
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      this.refused = true;
      events.push({ type: 'text_delta', text: delta.refusal });
    }
    for (const call of delta.tool_calls ?? []) events.push(this.toolDelta(call));
    if (typeof choice.finish_reason === 'string') this.finishRaw = choice.finish_reason;
  }

  private toolDelta(call: WireToolCall): ProviderEvent {
    // Some servers send `id: ""` (and `name: ""`) on continuation deltas: empty is absent.
    const id = call.id === null || call.id === undefined || call.id === '' ? undefined : call.id;
    let index = call.index;
    // Some local servers omit `index`: a new id starts a new call, no id continues the last one.
    if (index === undefined) index = id !== undefined && !this.ids.includes(id) ? this.nextIndex : Math.max(0, this.nextIndex - 1);
    if (id !== undefined && !this.ids.includes(id)) this.ids.push(id);
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    this.sawToolCall = true;
    const name = call.function?.name ?? undefined;
    return {
      type: 'tool_call_delta',
      index,
      ...(id === undefined ? {} : { id }),
      ...(name === undefined || name === '' ? {} : { name }),
      argumentsFragment: call.function?.arguments ?? '',
    };
  }

  private reason(): FinishReason {
    if (this.refused) return 'content_filter';
    // Some local servers report "stop" after tool calls; what matters to the loop is the calls.
    if (this.sawToolCall && (this.finishRaw === null || this.finishRaw === 'stop')) return 'tool_calls';
    switch (this.finishRaw) {
      case null:
      case 'stop':
        return 'stop';
      case 'tool_calls':
      case 'function_call':
        return 'tool_calls';
      case 'length':
        return 'length';
      case 'content_filter':
        return 'content_filter';
      default:
        return 'other';
    }
  }
}

/** Events for a whole non-streaming chat completion response. */
export function mapOpenAiResponse(provider: string, json: unknown): ProviderEvent[] {
  const body = json as Chunk | null;
  if (body === null || typeof body !== 'object') return [{ type: 'error', error: malformedFailure(provider, 'the body is not an object') }];
  if (body.error !== undefined && body.error !== null) return [{ type: 'error', error: classifyErrorObject(provider, body.error) }];
  const mapper = new OpenAiStreamMapper(provider);
  const events: ProviderEvent[] = [];
  const choice = body.choices?.find((c) => (c.index ?? 0) === 0);
  if (choice === undefined) return [{ type: 'error', error: malformedFailure(provider, 'no choice in the response') }];
  const message = choice.message ?? {};
  // A whole response lists whole calls: each entry is its own call even without `index` or
  // `id` (some local servers send neither), never a continuation as in a stream.
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls.map((call, index) => ({ ...call, index: call.index ?? index })) : message.tool_calls;
  mapper.pushChoice(choice, { ...message, tool_calls: calls }, events);
  if (body.usage !== undefined && body.usage !== null) events.push(usageEvent(body.usage));
  mapper.push('[DONE]');
  return [...events, ...mapper.end()];
}

function usageEvent(usage: NonNullable<Chunk['usage']>): ProviderEvent {
  return { type: 'usage', inputTokens: usage.prompt_tokens ?? 0, outputTokens: usage.completion_tokens ?? 0 };
}
