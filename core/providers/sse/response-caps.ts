/**
 * Size caps on what an upstream may send in one response. Without them a server that
 * never ends a line, streams deltas forever or answers with a huge JSON body grows the
 * daemon's memory until it dies. The caps bound everything the adapters hold: an SSE
 * event is buffered whole before it is parsed, a JSON body is read whole, and the text
 * and tool-call arguments of a turn are decoded from the response, so neither can exceed
 * the response cap.
 */

/** The caps of one provider, in bytes of the response body. */
export interface ResponseLimits {
  /** One SSE event (or one unterminated line) as buffered before parsing. Default 8 MiB. */
  maxEventBytes: number;
  /** A whole response body, streamed or not. Default 32 MiB. */
  maxResponseBytes: number;
}

/** The defaults: far above any real completion, far below what hurts the daemon. */
export const DEFAULT_RESPONSE_LIMITS: ResponseLimits = { maxEventBytes: 8 * 1024 * 1024, maxResponseBytes: 32 * 1024 * 1024 };

/** Thrown while reading a body that went over a cap; runHttpCall turns it into a failure. */
export class ResponseCapError extends Error {
  constructor(
    readonly what: 'event' | 'response',
    readonly capBytes: number,
  ) {
    super(`${what === 'event' ? 'one SSE event' : 'the response'} exceeds the ${formatBytes(capBytes)} ${what} cap`);
    this.name = 'ResponseCapError';
  }
}

/** Passes `body` through, throwing a `ResponseCapError` once more than `maxBytes` went by. */
export async function* capBytes(body: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) throw new ResponseCapError('response', maxBytes);
    yield chunk;
  }
}

function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  if (Number.isInteger(mib)) return `${mib} MiB`;
  const kib = bytes / 1024;
  return Number.isInteger(kib) ? `${kib} KiB` : `${bytes}-byte`;
}
