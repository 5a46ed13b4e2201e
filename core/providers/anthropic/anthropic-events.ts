import type { FinishReason, ProviderEvent } from '../contract.ts';
import { classifyErrorObject, malformedFailure, type ProviderErrorObject } from '../http-errors.ts';

/**
 * Maps Anthropic Messages stream events (and whole non-streaming messages) to normalized
 * events. Content blocks are indexed over text and tool_use together; tool calls get their
 * own dense index in block order, which is the model's order.
 */

interface Usage {
  input_tokens?: number;
  output_tokens?: number;
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
  message?: { usage?: Usage; content?: ContentBlock[]; stop_reason?: string | null };
  content_block?: ContentBlock;
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: Usage;
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
    let event: StreamEvent;
    try {
      event = JSON.parse(data) as StreamEvent;
    } catch {
      return { events: [{ type: 'error', error: malformedFailure(this.provider, 'a stream event is not JSON') }], done: true };
    }
    const events: ProviderEvent[] = [];
    switch (event.type) {
      case 'message_start':
        this.inputTokens = event.message?.usage?.input_tokens;
        this.outputTokens = event.message?.usage?.output_tokens ?? 0;
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
        if (event.delta?.stop_reason !== undefined) this.stopReason = event.delta.stop_reason;
        if (event.usage?.input_tokens !== undefined) this.inputTokens = event.usage.input_tokens;
        if (event.usage?.output_tokens !== undefined) this.outputTokens = event.usage.output_tokens;
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
    return { events, done: false };
  }

  /** Closing events at EOF: an error when the message never stopped. */
  end(): ProviderEvent[] {
    return this.stopped ? [] : [{ type: 'error', error: malformedFailure(this.provider, 'the stream ended before message_stop') }];
  }

  /** Used for a streamed block start and for each block of a non-streaming message. */
  startBlock(blockIndex: number, block: ContentBlock, events: ProviderEvent[]): void {
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') events.push({ type: 'text_delta', text: block.text });
    if (block.type !== 'tool_use') return;
    const toolIndex = this.nextTool++;
    this.tools.set(blockIndex, { toolIndex, input: block.input, sawFragment: false });
    events.push({
      type: 'tool_call_delta',
      index: toolIndex,
      ...(block.id === undefined ? {} : { id: block.id }),
      ...(block.name === undefined ? {} : { name: block.name }),
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
  const mapper = new AnthropicStreamMapper(provider);
  const events: ProviderEvent[] = [];
  (message.content ?? []).forEach((block, i) => {
    mapper.startBlock(i, block, events);
    mapper.stopBlock(i, events);
  });
  const usage = message.usage ?? {};
  events.push({ type: 'usage', inputTokens: usage.input_tokens ?? 0, outputTokens: usage.output_tokens ?? 0 });
  const raw = message.stop_reason ?? null;
  events.push({ type: 'finish', reason: normalize(raw), raw });
  return events;
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
