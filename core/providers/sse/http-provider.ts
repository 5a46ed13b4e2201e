import type { Dispatcher } from 'undici';
import type { ModelProvider, ProviderEvent, ProviderRequest } from '../contract.ts';
import { headerSecrets } from '../credential-headers.ts';
import { DEFAULT_RESPONSE_LIMITS, type ResponseLimits } from './response-caps.ts';
import { agentFor, isJsonContentType, jsonBody, runHttpCall, sniffedBody, sseBody, type BodyMapper, type HttpTimeouts, type SseMapper } from './http-call.ts';

/** What distinguishes one HTTP provider from another: its endpoint, headers and wire mapping. */
export interface HttpProviderSpec {
  id: string;
  url: string;
  /** Every request's headers, the credential included. */
  headers: Record<string, string>;
  timeouts: HttpTimeouts;
  dispatcher?: Dispatcher;
  /** Used when a request names no model. */
  defaultModel?: string;
  streaming: boolean;
  /** Size caps of a response; each defaults to `DEFAULT_RESPONSE_LIMITS`. */
  limits?: Partial<ResponseLimits> | undefined;
  /**
   * Security: scrubbed from every failure message, with the values of every credential
   * header in `headers` (see credential-headers.ts).
   */
  secrets?: readonly string[];
  toBody(request: ProviderRequest, options: { model: string; stream: boolean }): unknown;
  /** A fresh mapper of the streamed events, per request. */
  streamMapper(): SseMapper;
  mapJson(json: unknown): ProviderEvent[];
}

/**
 * A `ModelProvider` over one HTTP endpoint: each request is sent with `runHttpCall`, and
 * the answer is mapped from SSE (streaming) or from one JSON body to the same events.
 */
export function httpProvider(spec: HttpProviderSpec): ModelProvider {
  let dispatcher = spec.dispatcher;
  const headers = { ...spec.headers, accept: spec.streaming ? 'text/event-stream' : 'application/json' };
  const limits: ResponseLimits = { ...DEFAULT_RESPONSE_LIMITS, ...spec.limits };
  const secrets = [...new Set([...(spec.secrets ?? []), ...headerSecrets(spec.headers)])];
  return {
    id: spec.id,
    stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
      // Created on first use: a provider that is configured but never called opens nothing.
      dispatcher ??= agentFor(spec.timeouts);
      const model = request.model !== '' ? request.model : (spec.defaultModel ?? '');
      return runHttpCall(
        {
          provider: spec.id,
          url: spec.url,
          headers,
          body: spec.toBody(request, { model, stream: spec.streaming }),
          timeouts: spec.timeouts,
          limits,
          dispatcher,
          signal: request.signal,
          secrets,
        },
        (contentType) => mapperFor(spec, contentType),
      );
    },
  };
}

/**
 * The mapper for a 2xx body. A streaming request may still be answered with one JSON body
 * (an error object, or a whole completion from a server that ignores `stream`); read as
 * SSE it would look like a broken stream and be retried. A JSON content type does not
 * settle it: some servers (Foundry Local) label their event stream application/json, so
 * the body's first bytes decide. Without one, the body is SSE: some local servers send
 * their event stream as text/plain or with no content type.
 */
function mapperFor(spec: HttpProviderSpec, contentType: string): BodyMapper {
  const json = jsonBody(spec.id, (value) => spec.mapJson(value));
  if (!spec.streaming) return json;
  const sse = sseBody(spec.streamMapper());
  return isJsonContentType(contentType) ? sniffedBody(json, sse) : sse;
}
