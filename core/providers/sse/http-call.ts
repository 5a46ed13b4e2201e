import { Buffer } from 'node:buffer';
import { Agent, request, type Dispatcher } from 'undici';
import type { ProviderEvent } from '../contract.ts';
import { classifyHttpFailure, classifyTransportError, malformedFailure, oversizeFailure, redactSecrets, scrubSecrets, timeoutFailure } from '../http-errors.ts';
import { capBytes, ResponseCapError, type ResponseLimits } from './response-caps.ts';
import { sseEvents } from './sse-events.ts';

/**
 * One provider HTTP call: POST a JSON body through undici, turn a non-2xx answer or a
 * thrown transport error into a final `error` event, and hand a 2xx body to the mapper
 * the adapter picks for its content type. Shared by the OpenAI and Anthropic adapters so timeouts, cancellation and
 * secret hygiene behave the same for both.
 */

/** The three request timeouts, in milliseconds. */
export interface HttpTimeouts {
  /** TCP (and TLS) connection set-up. Applies only when the provider creates its own agent. */
  connectMs: number;
  /** From sending the request to the response headers. */
  firstByteMs: number;
  /** Between two chunks of the response body; SSE keep-alive comments reset it. */
  idleMs: number;
}

/** What an adapter passes for one call. */
export interface HttpCall {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeouts: HttpTimeouts;
  dispatcher: Dispatcher;
  signal?: AbortSignal | undefined;
  /** Size caps of the response; over one, the body is destroyed and the call fails. */
  limits: ResponseLimits;
  /** Security: the API key and any other credential, scrubbed from every failure message. */
  secrets?: readonly string[] | undefined;
}

/**
 * Maps a 2xx response body (already held to `limits.maxResponseBytes`) to events. It may
 * throw transport errors and `ResponseCapError`; they are classified.
 */
export type BodyMapper = (body: AsyncIterable<Uint8Array>, limits?: ResponseLimits) => AsyncIterable<ProviderEvent>;

// Why a cap: an error page from a misconfigured proxy can be large; the message needs little.
const MAX_ERROR_BODY = 64 * 1024;

/** An undici agent whose connect timeout is `connectMs`. */
export function agentFor(timeouts: HttpTimeouts): Agent {
  return new Agent({ connect: { timeout: timeouts.connectMs } });
}

/**
 * Runs one call. Never throws: every failure ends the stream with one `error` event.
 *
 * Security: every error event leaves through here, whether it came from a status, a
 * transport error or the provider's own error object in a 2xx body or a stream, and each
 * has every secret of the call scrubbed from its message.
 */
export async function* runHttpCall(call: HttpCall, mapperFor: (contentType: string) => BodyMapper): AsyncGenerator<ProviderEvent> {
  const secrets = call.secrets ?? [];
  for await (const event of unscrubbed(call, mapperFor)) {
    yield event.type === 'error' ? { type: 'error', error: redactSecrets(event.error, secrets) } : event;
  }
}

async function* unscrubbed(call: HttpCall, mapperFor: (contentType: string) => BodyMapper): AsyncGenerator<ProviderEvent> {
  const { provider, signal } = call;
  const fail = (error: unknown): ProviderEvent => ({
    type: 'error',
    error: signal?.aborted
      ? classifyTransportError(provider, error, signal)
      : error instanceof ResponseCapError
        ? oversizeFailure(provider, error.message)
        : error instanceof KeepAliveOnlyError
          ? timeoutFailure(provider, 'keep-alive')
          : classifyTransportError(provider, error, signal),
  });
  if (signal?.aborted) {
    yield fail(signal.reason);
    return;
  }
  let response: Dispatcher.ResponseData;
  try {
    response = await request(call.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...call.headers },
      body: JSON.stringify(call.body),
      dispatcher: call.dispatcher,
      headersTimeout: call.timeouts.firstByteMs,
      bodyTimeout: call.timeouts.idleMs,
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    yield fail(error);
    return;
  }
  const { body } = response;
  try {
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const bodyText = await readCapped(body, call.secrets ?? []);
      yield { type: 'error', error: classifyHttpFailure(provider, { status: response.statusCode, headers: response.headers, bodyText }) };
      return;
    }
    const map = mapperFor(headerValue(response.headers['content-type']));
    for await (const event of map(capBytes(body, call.limits.maxResponseBytes), call.limits)) {
      // Invariant: nothing follows a cancellation, even events already parsed.
      if (signal?.aborted) break;
      yield event;
      if (event.type === 'error') return;
    }
    if (signal?.aborted) yield fail(signal.reason);
  } catch (error) {
    yield fail(error);
  } finally {
    // Releases the connection when the consumer stops early or the stream failed.
    if (!body.destroyed) body.destroy();
  }
}

function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** True for `application/json` and `application/<anything>+json`, parameters aside. */
export function isJsonContentType(contentType: string): boolean {
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * An error body, at most MAX_ERROR_BODY characters, with `secrets` scrubbed. Security: it is
 * scrubbed before any cut (here, or the classifier's cut to a first line), as a secret cut
 * in two is no longer found and its prefix would leak.
 */
async function readCapped(body: AsyncIterable<Uint8Array>, secrets: readonly string[]): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length > MAX_ERROR_BODY) return scrubSecrets(text, secrets).slice(0, MAX_ERROR_BODY);
  }
  return scrubSecrets(text + decoder.decode(), secrets);
}

/** A stateful wire-format mapper fed one SSE `data` payload at a time. */
export interface SseMapper {
  push(data: string): { events: ProviderEvent[]; done: boolean };
  /** Closing events once the body ended or `done` was returned. */
  end(): ProviderEvent[];
}

/**
 * How long an SSE body may send nothing but keep-alives (comments, Anthropic `ping`) before
 * it fails with a `timeout`. Why: the idle timeout resets on every byte, so an upstream
 * sending only keep-alives would hold the stream and its lease until the run's wall clock
 * ends. Why a constant, not a setting: the config has no key for it, and it must stay far
 * above a reasoning model's silent thinking, which proxies fill with keep-alives.
 */
export const MAX_KEEPALIVE_ONLY_MS = 10 * 60_000;

/** Thrown by `sseBody` when only keep-alives came for too long; runHttpCall turns it into a `timeout`. */
export class KeepAliveOnlyError extends Error {
  constructor(readonly ms: number) {
    super(`only keep-alives for ${ms} ms`);
    this.name = 'KeepAliveOnlyError';
  }
}

/** Options of {@link sseBody}. */
export interface SseBodyOptions {
  /** Longest run of keep-alives only, in milliseconds; default {@link MAX_KEEPALIVE_ONLY_MS}. */
  maxKeepAliveOnlyMs?: number;
}

/** A `BodyMapper` for an SSE body; it stops at the first error event or when `done`. */
export function sseBody(mapper: SseMapper, options: SseBodyOptions = {}): BodyMapper {
  const maxQuietMs = options.maxKeepAliveOnlyMs ?? MAX_KEEPALIVE_ONLY_MS;
  return async function* (body, limits) {
    const sseIterator = sseEvents(body, limits === undefined ? {} : { maxEventBytes: limits.maxEventBytes })[Symbol.asyncIterator]();
    const watchdog = quietWatchdog(maxQuietMs);
    try {
      for (;;) {
        const pending = sseIterator.next();
        const next = await Promise.race([pending, watchdog.expired]).catch((error: unknown) => {
          // Invariant: a read abandoned on expiry rejects once the body is destroyed; nobody awaits it.
          pending.catch(() => undefined);
          throw error;
        });
        if (next.done === true) break;
        const sse = next.value;
        // Comments never arrive here (sseEvents skips them); a ping is the other keep-alive.
        if (sse.event !== 'ping') watchdog.heard();
        const { events, done } = mapper.push(sse.data);
        yield* events;
        if (events.some((e) => e.type === 'error')) return;
        if (done) break;
      }
      yield* mapper.end();
    } finally {
      watchdog.stop();
    }
  };
}

/**
 * One timer for a whole stream, not one per event (a stream has thousands of deltas): it
 * fires at the deadline, sets itself again while events moved the deadline on, and
 * rejects `expired` with a KeepAliveOnlyError once the deadline really passed.
 */
function quietWatchdog(ms: number): { expired: Promise<never>; heard(): void; stop(): void } {
  let deadline = Date.now() + ms;
  let fail: (error: Error) => void = () => undefined;
  const expired = new Promise<never>((_, reject) => {
    fail = reject;
  });
  expired.catch(() => undefined); // raced by the reader; never an unhandled rejection
  let timer: NodeJS.Timeout;
  const check = (): void => {
    if (Date.now() >= deadline) fail(new KeepAliveOnlyError(ms));
    else timer = setTimeout(check, deadline - Date.now());
  };
  timer = setTimeout(check, ms);
  return { expired, heard: () => void (deadline = Date.now() + ms), stop: () => clearTimeout(timer) };
}

/**
 * A `BodyMapper` that picks `json` or `sse` by the body's first bytes: after any
 * whitespace, `{` or `[` is JSON and an SSE field (`data:`, `event:`, `id:`, `retry:`)
 * or comment (`:`) is an event stream. Anything else goes to `json`, which reports it.
 */
export function sniffedBody(json: BodyMapper, sse: BodyMapper): BodyMapper {
  return async function* (body, limits) {
    const iterator = body[Symbol.asyncIterator]();
    const head: Uint8Array[] = [];
    let start = '';
    let ended = false;
    // Invariant: the sniff reads at most SNIFF_BYTES beyond the leading whitespace it skips,
    // and gives up (JSON) after SNIFF_BYTES of whitespace, so it buffers little.
    for (let seen = 0; seen < SNIFF_BYTES && !looksLike(start); ) {
      const next = await iterator.next();
      if (next.done === true) {
        ended = true;
        break;
      }
      head.push(next.value);
      seen += next.value.byteLength;
      start = new TextDecoder().decode(Buffer.concat(head).subarray(0, SNIFF_BYTES)).trimStart();
    }
    const replay = (async function* () {
      yield* head;
      if (!ended) yield* { [Symbol.asyncIterator]: () => iterator };
    })();
    yield* (looksLike(start) === 'sse' ? sse : json)(replay, limits);
  };
}

const SNIFF_BYTES = 4096;
const SSE_START = /^(?::|data:|event:|id:|retry:|data\r?\n|event\r?\n)/;

/** What the start of a body shows: JSON, an event stream, or not yet enough to tell. */
function looksLike(start: string): 'json' | 'sse' | null {
  if (start.startsWith('{') || start.startsWith('[')) return 'json';
  return SSE_START.test(start) ? 'sse' : null;
}

/** A `BodyMapper` for a whole JSON body (non-streaming mode); non-JSON is an upstream failure. */
export function jsonBody(provider: string, map: (json: unknown) => ProviderEvent[]): BodyMapper {
  return async function* (body) {
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
    text += decoder.decode();
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      yield { type: 'error', error: malformedFailure(provider, 'the body is not JSON') };
      return;
    }
    yield* map(json);
  };
}
