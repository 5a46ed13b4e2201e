import type { JsonValue } from '../../base/index.ts';
import type { ChatMessage, ProviderRequest } from '../contract.ts';

/**
 * Maps a `ProviderRequest` to an Anthropic Messages body. Anthropic wants strictly
 * alternating user/assistant turns, with every tool result of a turn in one user message,
 * so consecutive messages of the same wire role are merged into one block list.
 */

/** Anthropic requires max_tokens; this is used when the request sets none. */
export const DEFAULT_MAX_TOKENS = 4096;

type Block = Record<string, JsonValue>;
interface WireMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** Builds the JSON body of POST /v1/messages. */
export function toAnthropicBody(request: ProviderRequest, options: { model: string; stream: boolean }): Record<string, JsonValue> {
  const p = request.parameters ?? {};
  const body: Record<string, JsonValue> = { model: options.model, max_tokens: p.maxTokens ?? DEFAULT_MAX_TOKENS };
  if (request.system !== undefined && request.system !== '') body.system = request.system;
  body.messages = toWireMessages(request.messages).map((m) => ({ role: m.role, content: simplify(m.content) }));
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema }));
  }
  if (p.temperature !== undefined) body.temperature = p.temperature;
  if (p.topP !== undefined) body.top_p = p.topP;
  if (p.stop !== undefined && p.stop.length > 0) body.stop_sequences = p.stop;
  body.stream = options.stream;
  return body;
}

function toWireMessages(messages: ChatMessage[]): WireMessage[] {
  const out: WireMessage[] = [];
  for (const message of messages) {
    const { role, blocks } = toBlocks(message);
    // Anthropic rejects empty content; an assistant turn with nothing in it carries no information.
    if (blocks.length === 0) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  return out;
}

function toBlocks(message: ChatMessage): { role: 'user' | 'assistant'; blocks: Block[] } {
  switch (message.role) {
    case 'user':
      return { role: 'user', blocks: [{ type: 'text', text: message.content }] };
    case 'assistant': {
      const blocks: Block[] = [];
      if (message.content !== null && message.content !== '') blocks.push({ type: 'text', text: message.content });
      for (const call of message.toolCalls ?? []) blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: objectInput(call.arguments) });
      return { role: 'assistant', blocks };
    }
    case 'tool': {
      const block: Block = { type: 'tool_result', tool_use_id: message.toolCallId, content: message.content };
      if (message.isError === true) block.is_error = true;
      return { role: 'user', blocks: [block] };
    }
    default: {
      const unreachable: never = message;
      throw new Error(`Unknown message role: ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * The Messages API refuses a `tool_use` whose input is not an object. A call whose arguments
 * were not valid JSON (cut by max_tokens) holds the raw string, and a model may send an
 * array or a scalar; the tool result beside it already tells the model what went wrong.
 */
function objectInput(args: JsonValue): JsonValue {
  return typeof args === 'object' && args !== null && !Array.isArray(args) ? args : {};
}

/** A lone text block is sent as a plain string, the form every Anthropic example uses. */
function simplify(content: Block[]): JsonValue {
  const only = content[0];
  if (content.length === 1 && only !== undefined && only.type === 'text') return only.text as JsonValue;
  return content;
}
