import type { JsonValue } from '../base/index.ts';

/**
 * The one contract every model provider implements: a request in, an async stream of
 * normalized events out. Adapters hide each wire format; the agent loop sees only this.
 */

/** A message of the conversation sent to the model. */
export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError?: boolean };

/** A complete tool call proposed by the model. `arguments` is the parsed JSON object. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: JsonValue;
}

/** A tool the model may call: its name, description and JSON Schema of its input. */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, JsonValue>;
}

/** Sampling parameters; adapters map them to their wire names and drop what they lack. */
export interface ModelParameters {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
}

/** One model request. */
export interface ProviderRequest {
  model: string;
  system?: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  parameters?: ModelParameters;
  /** Aborts the request and the stream; the stream then ends with a `cancelled` error. */
  signal?: AbortSignal;
}

/** Why a model stopped, normalized; `raw` keeps the provider's own word. */
export type FinishReason = 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'error' | 'other';

/** Stable classes of provider failure; the agent loop and retries decide on these. */
export type ProviderErrorCode =
  | 'auth'
  | 'rate_limited'
  | 'overloaded'
  | 'timeout'
  | 'bad_request'
  | 'context_length'
  | 'upstream'
  | 'network'
  | 'cancelled';

/** A classified failure. `retryable` and `retryAfterMs` guide the retry layer. */
export interface ProviderFailure {
  code: ProviderErrorCode;
  message: string;
  /** HTTP status, when the failure came with one. */
  status?: number;
  retryable: boolean;
  /** From a Retry-After (or retry-after-ms) header, when the provider sent one. */
  retryAfterMs?: number;
  /** The provider's own error type or code, e.g. "insufficient_quota", "overloaded_error". */
  providerCode?: string;
}

/** One attempt that failed before any content, so the request went on to the next provider. */
export interface FailedAttempt {
  providerId: string;
  model: string;
  /** Already scrubbed of keys by the adapter that classified it, as every `error` event is. */
  error: ProviderFailure;
}

/**
 * Where a request went: the provider and model asked last (whose answer or failure the
 * stream carries), and the attempts that failed over before it. An auditor reads it to
 * know which third parties saw the prompt.
 */
export interface ProviderRoute {
  providerId: string;
  model: string;
  failedOver: FailedAttempt[];
}

/**
 * The normalized stream. Tool-call fragments are keyed by `index` in the model's order.
 * `route` is information, not content: a wrapper that sends the request somewhere
 * (failover) yields it before each attempt, so the last one names where the turn went.
 * Adapters need not yield it; a stream without one went to the provider that was asked.
 */
export type ProviderEvent =
  | { type: 'route'; route: ProviderRoute }
  | { type: 'text_delta'; text: string }
  | { type: 'tool_call_delta'; index: number; id?: string; name?: string; argumentsFragment: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'finish'; reason: FinishReason; raw: string | null }
  | { type: 'error'; error: ProviderFailure };

/** A model provider. `stream` never throws: failures arrive as a final `error` event. */
export interface ModelProvider {
  /** Names this provider in logs, tapes and failover order, e.g. "openai", "local-ollama". */
  readonly id: string;
  stream(request: ProviderRequest): AsyncIterable<ProviderEvent>;
}
