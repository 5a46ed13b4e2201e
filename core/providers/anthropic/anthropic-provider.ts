import type { Dispatcher } from 'undici';
import type { ModelProvider, ProviderEvent, ProviderRequest } from '../contract.ts';
import { agentFor, jsonBody, runHttpCall, sseBody, type HttpTimeouts } from '../sse/http-call.ts';
import { AnthropicStreamMapper, mapAnthropicMessage } from './anthropic-events.ts';
import { toAnthropicBody } from './anthropic-request.ts';

/** Options of an Anthropic Messages provider. */
export interface AnthropicProviderOptions {
  /** Provider id in logs and failover order; default "anthropic". */
  id?: string;
  /** Default https://api.anthropic.com; the path /v1/messages is appended. */
  baseUrl?: string;
  apiKey: string;
  /** The `anthropic-version` header; default 2023-06-01. */
  version?: string;
  /** Used when a request names no model. */
  model?: string;
  /** Extra headers, e.g. anthropic-beta. */
  headers?: Record<string, string>;
  timeouts: HttpTimeouts;
  /** An undici dispatcher (proxy, mock); its own connect timeout then applies. */
  dispatcher?: Dispatcher;
  /** false: one non-streaming request whose JSON is mapped to the same events. Default true. */
  stream?: boolean;
}

/** A `ModelProvider` for the Anthropic Messages API. */
export function createAnthropicProvider(options: AnthropicProviderOptions): ModelProvider {
  const id = options.id ?? 'anthropic';
  const url = `${(options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '')}/v1/messages`;
  const streaming = options.stream ?? true;
  let dispatcher = options.dispatcher;
  // Security: the key lives only in this header object, never in messages or events.
  const headers: Record<string, string> = {
    ...options.headers,
    accept: streaming ? 'text/event-stream' : 'application/json',
    'x-api-key': options.apiKey,
    'anthropic-version': options.version ?? '2023-06-01',
  };

  return {
    id,
    stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
      dispatcher ??= agentFor(options.timeouts);
      const model = request.model !== '' ? request.model : (options.model ?? '');
      return runHttpCall(
        {
          provider: id,
          url,
          headers,
          body: toAnthropicBody(request, { model, stream: streaming }),
          timeouts: options.timeouts,
          dispatcher,
          signal: request.signal,
          secret: options.apiKey,
        },
        streaming ? sseBody(new AnthropicStreamMapper(id)) : jsonBody(id, (json) => mapAnthropicMessage(id, json)),
      );
    },
  };
}
