import type { JsonValue } from '../../base/index.ts';
import type { ChatMessage, ProviderRequest } from '../contract.ts';

/**
 * Maps a `ProviderRequest` to an OpenAI chat completions body. Only fields every
 * OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp, LM Studio) accepts are sent.
 */

/** Builds the JSON body; `stream` selects SSE streaming with a final usage chunk. */
export function toOpenAiBody(request: ProviderRequest, options: { model: string; stream: boolean }): Record<string, JsonValue> {
  const messages: JsonValue[] = [];
  if (request.system !== undefined && request.system !== '') messages.push({ role: 'system', content: request.system });
  for (const message of request.messages) messages.push(toOpenAiMessage(message));
  const body: Record<string, JsonValue> = { model: options.model, messages };
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.inputSchema },
    }));
  }
  const p = request.parameters ?? {};
  if (p.temperature !== undefined) body.temperature = p.temperature;
  if (p.topP !== undefined) body.top_p = p.topP;
  // Why max_tokens and not max_completion_tokens: local servers only know the older name,
  // and OpenAI still accepts it for non-reasoning models.
  if (p.maxTokens !== undefined) body.max_tokens = p.maxTokens;
  if (p.stop !== undefined && p.stop.length > 0) body.stop = p.stop;
  body.stream = options.stream;
  if (options.stream) body.stream_options = { include_usage: true };
  return body;
}

function toOpenAiMessage(message: ChatMessage): JsonValue {
  switch (message.role) {
    case 'user':
      return { role: 'user', content: message.content };
    case 'assistant': {
      const out: Record<string, JsonValue> = { role: 'assistant', content: message.content };
      if (message.toolCalls !== undefined && message.toolCalls.length > 0) {
        out.tool_calls = message.toolCalls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: JSON.stringify(c.arguments) },
        }));
      }
      return out;
    }
    case 'tool':
      // The wire format has no error flag for tool results; the content must say so itself.
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    default: {
      const unreachable: never = message;
      throw new Error(`Unknown message role: ${JSON.stringify(unreachable)}`);
    }
  }
}
