import type { FinishReason, ProviderEvent, ProviderFailure } from '../contract.ts';
import { classifyErrorObject, malformedFailure, type ProviderErrorObject } from '../http-errors.ts';
import { argumentsText, isRecord, MAX_TOOL_CALLS_PER_TURN, tokenCount, tooManyToolCallsFailure } from '../wire-values.ts';

/**
 * Maps OpenAI chat completion chunks (and whole non-streaming responses) to normalized events.
 *
 * Refusals: `delta.refusal` / `message.refusal` text is emitted as `text_delta` so the user
 * sees why nothing else came, and the finish becomes `content_filter` (raw stays as sent,
 * usually "stop"). The contract has no refusal event, and a refusal is a filtered answer.
 */

interface Chunk {
  choices?: unknown;
  usage?: unknown;
  error?: ProviderErrorObject | null;
}

/** The state of one streamed completion. Feed it each `data:` payload, then call `end()`. */
export class OpenAiStreamMapper {
  private finishRaw: string | null = null;
  private sawDone = false;
  private sawToolCall = false;
  private refused = false;
  private nextIndex = 0;
  // Why a Map: a lookup per tool-call delta must not scan every id seen (a flood of calls in
  // one event would be quadratic), and it tells which call an id without an index continues.
  private readonly ids = new Map<string, number>();

  constructor(private readonly provider: string) {}

  /** Events for one SSE `data` payload; returns `done` after `[DONE]` or an error. */
  push(data: string): { events: ProviderEvent[]; done: boolean } {
    if (data.trim() === '[DONE]') {
      this.sawDone = true;
      return { events: [], done: true };
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data) as unknown;
    } catch {
      return { events: [{ type: 'error', error: malformedFailure(this.provider, 'a stream chunk is not JSON') }], done: true };
    }
    if (!isRecord(chunk)) return { events: [{ type: 'error', error: malformedFailure(this.provider, 'a stream chunk is not an object') }], done: true };
    const { error } = chunk as Chunk;
    if (error !== undefined && error !== null) {
      return { events: [{ type: 'error', error: classifyErrorObject(this.provider, error) }], done: true };
    }
    const events: ProviderEvent[] = [];
    const failure = this.pushBody(chunk, 'delta', events);
    return failure === undefined ? { events, done: false } : { events: [...events, { type: 'error', error: failure }], done: true };
  }

  /** The closing events once the body ended (after `[DONE]` or EOF). */
  end(): ProviderEvent[] {
    if (this.finishRaw === null && !this.sawDone) {
      return [{ type: 'error', error: malformedFailure(this.provider, 'the stream ended before a finish reason or [DONE]') }];
    }
    return [{ type: 'finish', reason: this.reason(), raw: this.finishRaw }];
  }

  /**
   * Events of a stream chunk (its choice's `delta`) or a whole response (its `message`):
   * the first choice, then usage. Returns the failure when the body has the wrong shape or
   * too many tool calls; the events before it are kept.
   */
  pushBody(body: Record<string, unknown>, part: 'delta' | 'message', events: ProviderEvent[]): ProviderFailure | undefined {
    const { choices, usage } = body as Chunk;
    if (choices !== undefined && choices !== null && !Array.isArray(choices)) return this.malformed('`choices` is not an array');
    const list: unknown[] = choices ?? [];
    if (!list.every(isRecord)) return this.malformed('a choice is not an object');
    // Only the first choice is used: palyrad never asks for n > 1.
    const choice = (list as Record<string, unknown>[]).find((c) => (c.index ?? 0) === 0);
    if (choice === undefined && part === 'message') return this.malformed('no choice in the response');
    const failure = choice === undefined ? undefined : this.pushChoice(choice, part, events);
    if (failure !== undefined) return failure;
    // Invariant: include_usage sends `usage: null` on every chunk, then one chunk with real usage.
    if (isRecord(usage)) events.push(usageEvent(usage));
    return undefined;
  }

  private pushChoice(choice: Record<string, unknown>, part: 'delta' | 'message', events: ProviderEvent[]): ProviderFailure | undefined {
    const delta = choice[part] ?? {};
    if (!isRecord(delta)) return this.malformed(`a choice's \`${part}\` is not an object`);
    if (typeof delta.content === 'string' && delta.content !== '') events.push({ type: 'text_delta', text: delta.content });
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      this.refused = true;
      events.push({ type: 'text_delta', text: delta.refusal });
    }
    const calls = delta.tool_calls ?? [];
    if (!Array.isArray(calls)) return this.malformed('`tool_calls` is not an array');
    for (const [position, call] of (calls as unknown[]).entries()) {
      // A whole response lists whole calls: each entry is its own call even without `index`
      // or `id` (some local servers send neither), never a continuation as in a stream.
      const event = this.toolDelta(call, part === 'message' ? position : undefined);
      if (event.type === 'error') return event.error;
      events.push(event);
    }
    if (typeof choice.finish_reason === 'string') this.finishRaw = choice.finish_reason;
    return undefined;
  }

  private toolDelta(call: unknown, position: number | undefined): ProviderEvent {
    if (!isRecord(call)) return this.error(this.malformed('a tool call is not an object'));
    const fn = call.function ?? {};
    if (!isRecord(fn)) return this.error(this.malformed('a tool call\'s `function` is not an object'));
    const { id: rawId, index: wireIndex } = call;
    const { name } = fn;
    if (!isAbsentOr(rawId, 'string') || !isAbsentOr(name, 'string')) return this.error(this.malformed('a tool call\'s `id` or `name` is not a string'));
    if (wireIndex !== undefined && wireIndex !== null && !(Number.isSafeInteger(wireIndex) && (wireIndex as number) >= 0)) {
      return this.error(this.malformed('a tool call\'s `index` is not a non-negative integer'));
    }
    // Some servers send `id: ""` (and `name: ""`) on continuation deltas: empty is absent.
    const id = typeof rawId === 'string' && rawId !== '' ? rawId : undefined;
    const index = (wireIndex as number | null | undefined) ?? position ?? this.indexWithout(id);
    // Invariant: indices are below the cap, so at most MAX_TOOL_CALLS_PER_TURN calls (and ids) are held.
    if (index >= MAX_TOOL_CALLS_PER_TURN) return this.error(tooManyToolCallsFailure(this.provider));
    if (id !== undefined && !this.ids.has(id)) this.ids.set(id, index);
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    this.sawToolCall = true;
    return {
      type: 'tool_call_delta',
      index,
      ...(id === undefined ? {} : { id }),
      ...(typeof name === 'string' && name !== '' ? { name } : {}),
      argumentsFragment: argumentsText(fn.arguments),
    };
  }

  /** Some local servers omit `index`: a known id continues its call, a new id starts one, no id continues the last. */
  private indexWithout(id: string | undefined): number {
    if (id === undefined) return Math.max(0, this.nextIndex - 1);
    return this.ids.get(id) ?? this.nextIndex;
  }

  private malformed(what: string): ProviderFailure {
    return malformedFailure(this.provider, what);
  }

  private error(failure: ProviderFailure): ProviderEvent {
    return { type: 'error', error: failure };
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
  if (!isRecord(json)) return [{ type: 'error', error: malformedFailure(provider, 'the body is not an object') }];
  const { error } = json as Chunk;
  if (error !== undefined && error !== null) return [{ type: 'error', error: classifyErrorObject(provider, error) }];
  const mapper = new OpenAiStreamMapper(provider);
  const events: ProviderEvent[] = [];
  const failure = mapper.pushBody(json, 'message', events);
  if (failure !== undefined) return [...events, { type: 'error', error: failure }];
  mapper.push('[DONE]');
  return [...events, ...mapper.end()];
}

function usageEvent(usage: Record<string, unknown>): ProviderEvent {
  return { type: 'usage', inputTokens: tokenCount(usage.prompt_tokens) ?? 0, outputTokens: tokenCount(usage.completion_tokens) ?? 0 };
}

function isAbsentOr(value: unknown, type: 'string'): boolean {
  return value === undefined || value === null || typeof value === type;
}
