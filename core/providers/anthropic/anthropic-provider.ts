import type { Dispatcher } from 'undici';
import type { ModelProvider } from '../contract.ts';
import type { HttpTimeouts } from '../sse/http-call.ts';
import type { ResponseLimits } from '../sse/response-caps.ts';
import { httpProvider } from '../sse/http-provider.ts';
import { AnthropicStreamMapper, mapAnthropicMessage } from './anthropic-events.ts';
import { toAnthropicBody } from './anthropic-request.ts';

/**
 * The model asked for when neither the request nor the options name one. Anthropic has no
 * server-side default (the Messages API requires `model`); this alias follows the newest
 * Sonnet, which suits an agent gateway's general use.
 */
export const DEFAULT_ANTHROPIC_MODEL = 'claude-sonnet-4-5';

/** Options of an Anthropic Messages provider. */
export interface AnthropicProviderOptions {
  /** Provider id in logs and failover order; default "anthropic". */
  id?: string;
  /** Default https://api.anthropic.com; the path /v1/messages is appended. */
  baseUrl?: string;
  apiKey: string;
  /** The `anthropic-version` header; default 2023-06-01. */
  version?: string;
  /** Used when a request names no model; default {@link DEFAULT_ANTHROPIC_MODEL}. */
  model?: string;
  /** Extra headers, e.g. anthropic-beta. */
  headers?: Record<string, string>;
  timeouts: HttpTimeouts;
  /** An undici dispatcher (proxy, mock); its own connect timeout then applies. */
  dispatcher?: Dispatcher;
  /** Size caps of a response (default 8 MiB per SSE event, 32 MiB per response). */
  limits?: Partial<ResponseLimits>;
  /** false: one non-streaming request whose JSON is mapped to the same events. Default true. */
  stream?: boolean;
}

/** A `ModelProvider` for the Anthropic Messages API. */
export function createAnthropicProvider(options: AnthropicProviderOptions): ModelProvider {
  const id = options.id ?? 'anthropic';
  return httpProvider({
    id,
    url: `${(options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '')}/v1/messages`,
    // Security: the key lives only in this header object, never in messages or events.
    headers: { ...options.headers, 'x-api-key': options.apiKey, 'anthropic-version': options.version ?? '2023-06-01' },
    timeouts: options.timeouts,
    dispatcher: options.dispatcher,
    defaultModel: options.model ?? DEFAULT_ANTHROPIC_MODEL,
    streaming: options.stream ?? true,
    limits: options.limits,
    secrets: options.apiKey === undefined ? [] : [options.apiKey],
    toBody: toAnthropicBody,
    streamMapper: () => new AnthropicStreamMapper(id),
    mapJson: (json) => mapAnthropicMessage(id, json),
  });
}
