import type { FinishReason, ProviderEvent } from '../contract.ts';
import { classifyErrorObject, malformedFailure, type ProviderErrorObject } from '../http-errors.ts';
import { isRecord, MAX_TOOL_CALLS_PER_TURN, tokenCount, tooManyToolCallsFailure } from '../wire-values.ts';

/**
 * Maps Anthropic Messages stream events (and whole non-streaming messages) to normalized
 * events. Content blocks are indexed over text and tool_use together; tool calls get their
 * own dense index in block order, which is the model's order.
 */

interface Usage {
  input_tokens?: unknown;
  output_tokens?: unknown;
}
interface ContentBlock {
  type?: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}
interface StreamEvent {
  type?: string;
  index?: number;
  message?: { usage?: Usage | null; content?: unknown; stop_reason?: unknown } | null;
  content_block?: unknown;
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: unknown } | null;
  usage?: Usage | null;
  error?: ProviderErrorObject;
}

interface OpenTool {
  toolIndex: number;
  input: unknown;
  sawFragment: boolean;
}

/** The state of one streamed message. Feed it each `data` payload, then call `end()`. */
export class AnthropicStreamMapper {
  private inputTokens: number | undefined;
  private outputTokens = 0;
  private stopReason: string | null = null;
  private stopped = false;
  private nextTool = 0;
  private readonly tools = new Map<number, OpenTool>();

  constructor(private readonly provider: string) {}

  /** Events for one SSE payload; `done` after message_stop or an error. */
  push(data: string): { events: ProviderEvent[]; done: boolean } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data) as unknown;
    } catch {
      return { events: [{ type: 'error', error: malformedFailure(this.provider, 'a stream event is not JSON') }], done: true };
    }
    const problem = shapeProblem(parsed);
    if (problem !== undefined) return { events: [{ type: 'error', error: malformedFailure(this.provider, problem) }], done: true };
    const event = parsed as StreamEvent;
    const events: ProviderEvent[] = [];
    switch (event.type) {
      case 'message_start':
        this.inputTokens = tokenCount(event.message?.usage?.input_tokens);
        this.outputTokens = tokenCount(event.message?.usage?.output_tokens) ?? 0;
        break;
      case 'content_block_start':
        this.startBlock(event.index ?? 0, event.content_block ?? {}, events);
        break;
      case 'content_block_delta':
        this.delta(event, events);
        break;
      case 'content_block_stop':
        this.stopBlock(event.index ?? 0, events);
        break;
      case 'message_delta':
        if (typeof event.delta?.stop_reason === 'string' || event.delta?.stop_reason === null) this.stopReason = event.delta.stop_reason;
        this.inputTokens = tokenCount(event.usage?.input_tokens) ?? this.inputTokens;
        this.outputTokens = tokenCount(event.usage?.output_tokens) ?? this.outputTokens;
        // Usage is reported once, when it is final; message_start holds only a snapshot.
        events.push({ type: 'usage', inputTokens: this.inputTokens ?? 0, outputTokens: this.outputTokens });
        break;
      case 'message_stop':
        this.stopped = true;
        return { events: [{ type: 'finish', reason: normalize(this.stopReason), raw: this.stopReason }], done: true };
      case 'error':
        return { events: [{ type: 'error', error: classifyErrorObject(this.provider, event.error ?? {}) }], done: true };
      default:
        // ping, and event types added later: Anthropic asks clients to ignore unknown events.
        break;
    }
    return { events, done: events.some((e) => e.type === 'error') };
  }

  /** Closing events at EOF: an error when the message never stopped. */
  end(): ProviderEvent[] {
    return this.stopped ? [] : [{ type: 'error', error: malformedFailure(this.provider, 'the stream ended before message_stop') }];
  }

  /**
   * Used for a streamed block start and for each block of a non-streaming message. A block
   * that is not an object is ignored, like a block type added later.
   */
  startBlock(blockIndex: number, value: unknown, events: ProviderEvent[]): void {
    if (!isRecord(value)) return;
    const block = value as ContentBlock;
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') events.push({ type: 'text_delta', text: block.text });
    if (block.type !== 'tool_use') return;
    if (this.nextTool >= MAX_TOOL_CALLS_PER_TURN) {
      events.push({ type: 'error', error: tooManyToolCallsFailure(this.provider) });
      return;
    }
    const toolIndex = this.nextTool++;
    this.tools.set(blockIndex, { toolIndex, input: block.input, sawFragment: false });
    events.push({
      type: 'tool_call_delta',
      index: toolIndex,
      ...(typeof block.id === 'string' ? { id: block.id } : {}),
      ...(typeof block.name === 'string' ? { name: block.name } : {}),
      argumentsFragment: '',
    });
  }

  /** A tool with no input streams no partial JSON; its input then is the one at block start. */
  stopBlock(blockIndex: number, events: ProviderEvent[]): void {
    const tool = this.tools.get(blockIndex);
    if (tool === undefined || tool.sawFragment) return;
    events.push({ type: 'tool_call_delta', index: tool.toolIndex, argumentsFragment: JSON.stringify(tool.input ?? {}) });
  }

  private delta(event: StreamEvent, events: ProviderEvent[]): void {
    const delta = event.delta ?? {};
    if (delta.type === 'text_delta' && typeof delta.text === 'string' && delta.text !== '') {
      events.push({ type: 'text_delta', text: delta.text });
    } else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
      const tool = this.tools.get(event.index ?? 0);
      if (tool === undefined || delta.partial_json === '') return;
      tool.sawFragment = true;
      events.push({ type: 'tool_call_delta', index: tool.toolIndex, argumentsFragment: delta.partial_json });
    }
    // thinking_delta and signature_delta are not part of the contract; they are dropped.
  }
}

/** Events for a whole non-streaming message. */
export function mapAnthropicMessage(provider: string, json: unknown): ProviderEvent[] {
  const message = json as (StreamEvent['message'] & { type?: string; error?: ProviderErrorObject }) | null;
  if (message === null || typeof message !== 'object') return [{ type: 'error', error: malformedFailure(provider, 'the body is not an object') }];
  if (message.type === 'error') return [{ type: 'error', error: classifyErrorObject(provider, message.error ?? {}) }];
  const content = message.content ?? [];
  if (!Array.isArray(content)) return [{ type: 'error', error: malformedFailure(provider, '`content` is not an array') }];
  const mapper = new AnthropicStreamMapper(provider);
  const events: ProviderEvent[] = [];
  for (const [i, block] of (content as unknown[]).entries()) {
    mapper.startBlock(i, block, events);
    if (events.at(-1)?.type === 'error') return events;
    mapper.stopBlock(i, events);
  }
  const usage = isRecord(message.usage) ? (message.usage as Usage) : {};
  events.push({ type: 'usage', inputTokens: tokenCount(usage.input_tokens) ?? 0, outputTokens: tokenCount(usage.output_tokens) ?? 0 });
  const raw = typeof message.stop_reason === 'string' ? message.stop_reason : null;
  events.push({ type: 'finish', reason: normalize(raw), raw });
  return events;
}

/** What is wrong with a stream event's shape where the mapper reads it, or undefined. */
function shapeProblem(event: unknown): string | undefined {
  if (!isRecord(event)) return 'a stream event is not an object';
  const { index } = event;
  if (index !== undefined && !(Number.isSafeInteger(index) && (index as number) >= 0)) return 'an event\'s `index` is not a non-negative integer';
  for (const field of ['message', 'delta', 'usage'] as const) {
    const value = event[field];
    if (value !== undefined && value !== null && !isRecord(value)) return `an event's \`${field}\` is not an object`;
  }
  const usage = isRecord(event.message) ? event.message.usage : undefined;
  return usage !== undefined && usage !== null && !isRecord(usage) ? 'a message\'s `usage` is not an object' : undefined;
}

function normalize(raw: string | null): FinishReason {
  switch (raw) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}
