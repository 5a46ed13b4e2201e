import type { ProviderErrorCode, ProviderFailure } from './contract.ts';

/**
 * Classifies every way a provider call can fail (HTTP status, provider error object,
 * transport error, timeout, abort) into one `ProviderFailure`, shared by all adapters so
 * the retry layer decides on the same codes whatever the wire format.
 */

/** Which request timeout fired; `keep-alive` is a stream that sent nothing but keep-alives for too long. */
export type TimeoutPhase = 'connect' | 'first byte' | 'idle' | 'keep-alive';

/** A provider's own error object as sent in a body or an SSE event (OpenAI or Anthropic shape). */
export interface ProviderErrorObject {
  message?: unknown;
  type?: unknown;
  code?: unknown;
}

// Why a pattern as well as codes: Anthropic reports an over-long prompt as a plain
// invalid_request_error ("prompt is too long: ..."), and local servers word it their own way.
const CONTEXT_PATTERN = /context[ _-]?length|context window|maximum context|prompt is too long|too many tokens/i;

/** A failure from a provider's error object, optionally with the HTTP status it came with. */
export function classifyErrorObject(provider: string, error: ProviderErrorObject, status?: number): ProviderFailure {
  const type = typeof error.type === 'string' ? error.type : undefined;
  const code = typeof error.code === 'string' ? error.code : undefined;
  const providerCode = code ?? type;
  const detail = typeof error.message === 'string' && error.message !== '' ? error.message : (providerCode ?? 'no detail');
  const base = status === undefined ? byType(type, code) : byStatus(status);
  let { code: failure, retryable } = base;
  if (CONTEXT_PATTERN.test(detail) || code === 'context_length_exceeded') {
    failure = 'context_length';
    retryable = false;
  }
  // insufficient_quota arrives as a 429 but waiting does not help: billing must change.
  if (code === 'insufficient_quota' || type === 'insufficient_quota') retryable = false;
  if (type === 'overloaded_error') {
    failure = 'overloaded';
    retryable = true;
  }
  const statusText = status === undefined ? '' : ` (HTTP ${status})`;
  return {
    code: failure,
    message: `Provider "${provider}" failed${statusText}: ${detail}`,
    ...(status === undefined ? {} : { status }),
    retryable,
    ...(providerCode === undefined ? {} : { providerCode }),
  };
}

/** A failure from a non-2xx response: its status, headers and (possibly non-JSON) body text. */
export function classifyHttpFailure(
  provider: string,
  response: { status: number; headers: Record<string, string | string[] | undefined>; bodyText: string },
  now: number = Date.now(),
): ProviderFailure {
  const parsed = parseErrorBody(response.bodyText);
  const failure = classifyErrorObject(provider, parsed ?? { message: firstLine(response.bodyText) }, response.status);
  const retryAfterMs = parseRetryAfter(response.headers, now);
  return retryAfterMs === undefined ? failure : { ...failure, retryAfterMs };
}

/** A failure from a thrown transport error; `signal` tells a caller's abort from the rest. */
export function classifyTransportError(provider: string, error: unknown, signal?: AbortSignal): ProviderFailure {
  if (signal?.aborted) return { code: 'cancelled', message: `Request to provider "${provider}" was cancelled`, retryable: false };
  const phase = timeoutPhaseOf(error);
  if (phase !== undefined) return timeoutFailure(provider, phase);
  const reason = describe(error);
  // undici refuses to send a request it finds malformed, most often a header value with a
  // line break (an API key read with its trailing newline). Sending again cannot help.
  if (hasCode(error, 'UND_ERR_INVALID_ARG')) {
    return { code: 'bad_request', message: `Request to provider "${provider}" is invalid: ${reason}; check the API key and headers for line breaks or other control characters`, retryable: false };
  }
  return { code: 'network', message: `Cannot reach provider "${provider}": ${reason}`, retryable: true };
}

/** The failure for a timeout of the named phase. */
export function timeoutFailure(provider: string, phase: TimeoutPhase): ProviderFailure {
  return { code: 'timeout', message: `Provider "${provider}" timed out: no ${TIMEOUT_WANTED[phase]} within the ${phase} timeout`, retryable: true };
}

const TIMEOUT_WANTED: Record<TimeoutPhase, string> = {
  connect: 'connection',
  'first byte': 'first byte',
  idle: 'data between chunks',
  'keep-alive': 'event but keep-alives',
};

/** Milliseconds to wait from `retry-after-ms` (OpenAI) or `retry-after` (seconds or HTTP date). */
export function parseRetryAfter(headers: Record<string, string | string[] | undefined>, now: number = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (header(headers, 'retry-after-ms') !== undefined && Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = header(headers, 'retry-after');
  if (value === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Security: removes every secret from a message. Providers echo parts of a bad key in 401
 * bodies and in-stream error objects, and transport errors may carry headers; nothing we
 * emit may contain a key. Longest first, so a secret that contains another goes whole.
 */
export function redactSecrets(failure: ProviderFailure, secrets: readonly string[]): ProviderFailure {
  const scrub = (text: string): string => scrubSecrets(text, secrets);
  // Both texts the upstream chose: an echoing server may put the key in its error code too.
  const message = scrub(failure.message);
  const providerCode = failure.providerCode === undefined ? undefined : scrub(failure.providerCode);
  if (message === failure.message && providerCode === failure.providerCode) return failure;
  return { ...failure, message, ...(providerCode === undefined ? {} : { providerCode }) };
}

/**
 * Security: `text` with every secret replaced by `[redacted]`, longest first. Scrub a body
 * before anything cuts it: a secret cut in two is no longer found, and its prefix leaks.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const longestFirst = [...secrets].sort((a, b) => b.length - a.length);
  for (const secret of longestFirst) {
    // Why a floor: scrubbing a 1–3 character "secret" would shred ordinary words.
    if (secret.length >= 4 && text.includes(secret)) text = text.split(secret).join('[redacted]');
  }
  return text;
}

function byStatus(status: number): { code: ProviderErrorCode; retryable: boolean } {
  if (status === 401 || status === 403) return { code: 'auth', retryable: false };
  if (status === 429) return { code: 'rate_limited', retryable: true };
  if (status === 408) return { code: 'timeout', retryable: true };
  if (status === 503 || status === 529) return { code: 'overloaded', retryable: true };
  if (status >= 500) return { code: 'upstream', retryable: true };
  return { code: 'bad_request', retryable: false };
}

/** In-stream errors carry no status; their type or code says what happened. */
function byType(type: string | undefined, code: string | undefined): { code: ProviderErrorCode; retryable: boolean } {
  const key = code ?? type ?? '';
  const t = type ?? '';
  if (/rate_limit|insufficient_quota/.test(key) || /rate_limit|insufficient_quota/.test(t)) return { code: 'rate_limited', retryable: true };
  if (/auth|permission|invalid_api_key/.test(key) || /auth|permission/.test(t)) return { code: 'auth', retryable: false };
  if (/invalid_request|not_found|bad_request/.test(key) || /invalid_request|not_found/.test(t)) return { code: 'bad_request', retryable: false };
  if (/timeout/.test(key)) return { code: 'timeout', retryable: true };
  return { code: 'upstream', retryable: true };
}

function parseErrorBody(text: string): ProviderErrorObject | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body !== 'object' || body === null) return undefined;
    const inner = (body as { error?: unknown }).error;
    // OpenAI and Anthropic nest the error object; some local servers send {"error": "text"}.
    if (typeof inner === 'object' && inner !== null) return inner as ProviderErrorObject;
    if (typeof inner === 'string') return { message: inner };
    return undefined;
  } catch {
    return undefined;
  }
}

function hasCode(error: unknown, wanted: string): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === wanted) return true;
  }
  return false;
}

function timeoutPhaseOf(error: unknown): TimeoutPhase | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'first byte';
    if (code === 'UND_ERR_BODY_TIMEOUT') return 'idle';
  }
  return undefined;
}

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  const cause = e?.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof cause?.message === 'string' ? cause.message : typeof e?.message === 'string' ? e.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code} (${message})` : message;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]?.trim() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line || 'empty response body';
}

/** A 2xx response whose content breaks the wire format (bad JSON, missing fields). */
export function malformedFailure(provider: string, what: string): ProviderFailure {
  return { code: 'upstream', message: `Provider "${provider}" sent a malformed response: ${what}`, retryable: true };
}

/**
 * A 2xx response that went over a size cap. Not retryable: the same request would most
 * likely draw the same flood, and each try costs the whole cap in memory and bandwidth.
 */
export function oversizeFailure(provider: string, what: string): ProviderFailure {
  return { code: 'upstream', message: `Provider "${provider}" sent too much: ${what}`, retryable: false };
}
