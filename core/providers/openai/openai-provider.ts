import type { Dispatcher } from 'undici';
import type { ModelProvider, ProviderEvent, ProviderRequest } from '../contract.ts';
import { agentFor, jsonBody, runHttpCall, sseBody, type HttpTimeouts } from '../sse/http-call.ts';
import { mapOpenAiResponse, OpenAiStreamMapper } from './openai-events.ts';
import { toOpenAiBody } from './openai-request.ts';

/** Options of an OpenAI-compatible chat completions provider. */
export interface OpenAiProviderOptions {
  /** Provider id in logs and failover order; default "openai". */
  id?: string;
  /** E.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), http://127.0.0.1:8000/v1 (vLLM). */
  baseUrl: string;
  /** Sent as a bearer token; without one no Authorization header is sent (local servers). */
  apiKey?: string;
  /** Used when a request names no model. */
  model?: string;
  /** Extra headers, e.g. OpenAI-Organization. */
  headers?: Record<string, string>;
  timeouts: HttpTimeouts;
  /** An undici dispatcher (proxy, mock); its own connect timeout then applies. */
  dispatcher?: Dispatcher;
  /** false: one non-streaming request whose JSON is mapped to the same events. Default true. */
  stream?: boolean;
}

/** A `ModelProvider` for OpenAI and OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio). */
export function createOpenAiProvider(options: OpenAiProviderOptions): ModelProvider {
  const id = options.id ?? 'openai';
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const streaming = options.stream ?? true;
  let dispatcher = options.dispatcher;
  const headers: Record<string, string> = { ...options.headers, accept: streaming ? 'text/event-stream' : 'application/json' };
  // Security: the key lives only in this header object, never in messages or events.
  if (options.apiKey !== undefined && options.apiKey !== '') headers.authorization = `Bearer ${options.apiKey}`;

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
          body: toOpenAiBody(request, { model, stream: streaming }),
          timeouts: options.timeouts,
          dispatcher,
          signal: request.signal,
          secret: options.apiKey,
        },
        streaming ? sseBody(new OpenAiStreamMapper(id)) : jsonBody(id, (json) => mapOpenAiResponse(id, json)),
      );
    },
  };
}
