import type { Dispatcher } from 'undici';
import type { ModelProvider } from '../contract.ts';
import type { HttpTimeouts } from '../sse/http-call.ts';
import type { ResponseLimits } from '../sse/response-caps.ts';
import { httpProvider } from '../sse/http-provider.ts';
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
  /**
   * Used when a request names no model. There is no default: OpenAI-compatible servers
   * share no model name, so a request without one and no `model` here is sent as `""`.
   */
  model?: string;
  /** Extra headers, e.g. OpenAI-Organization. */
  headers?: Record<string, string>;
  timeouts: HttpTimeouts;
  /** An undici dispatcher (proxy, mock); its own connect timeout then applies. */
  dispatcher?: Dispatcher;
  /** Size caps of a response (default 8 MiB per SSE event, 32 MiB per response). */
  limits?: Partial<ResponseLimits>;
  /** false: one non-streaming request whose JSON is mapped to the same events. Default true. */
  stream?: boolean;
}

/** A `ModelProvider` for OpenAI and OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio). */
export function createOpenAiProvider(options: OpenAiProviderOptions): ModelProvider {
  const id = options.id ?? 'openai';
  const headers: Record<string, string> = { ...options.headers };
  // Security: the key lives only in this header object, never in messages or events.
  if (options.apiKey !== undefined && options.apiKey !== '') headers.authorization = `Bearer ${options.apiKey}`;
  return httpProvider({
    id,
    url: `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`,
    headers,
    timeouts: options.timeouts,
    dispatcher: options.dispatcher,
    defaultModel: options.model,
    streaming: options.stream ?? true,
    limits: options.limits,
    secrets: options.apiKey === undefined ? [] : [options.apiKey],
    toBody: toOpenAiBody,
    streamMapper: () => new OpenAiStreamMapper(id),
    mapJson: (json) => mapOpenAiResponse(id, json),
  });
}
