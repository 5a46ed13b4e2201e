import { Buffer } from 'node:buffer';
import { createParser } from 'eventsource-parser';
import { ResponseCapError } from './response-caps.ts';

/**
 * Server-sent events as an async iterator, on top of `eventsource-parser` (spec-complete:
 * CR/LF/CRLF line ends, multi-line `data`, comments, `retry`, a BOM). This wrapper adds
 * what the parser leaves to its caller: byte decoding across chunk boundaries and pull-based
 * iteration with back-pressure.
 */

/** One dispatched SSE event. `event` is undefined when the stream sent no `event:` line. */
export interface SseEvent {
  event: string | undefined;
  data: string;
  id: string | undefined;
}

/** A response body: a Node readable (undici), a web ReadableStream, or any byte iterable. */
export type ByteSource = AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>;

/** Options of {@link sseEvents}. */
export interface SseEventsOptions {
  /** Bytes one event (or one line) may take before it is dispatched; default unlimited. */
  maxEventBytes?: number;
}

/**
 * Yields every event of an SSE byte stream, in order. Comments (`: keep-alive`) and empty
 * events are skipped: no adapter here needs them, and keep-alives still reset the caller's
 * idle timer because they arrive as bytes.
 * @throws ResponseCapError when more than `maxEventBytes` arrive without an event being
 * dispatched (an endless line, or an event that never ends, keep-alives in it or not).
 */
export async function* sseEvents(body: ByteSource, options: SseEventsOptions = {}): AsyncGenerator<SseEvent> {
  const maxEventBytes = options.maxEventBytes ?? Number.POSITIVE_INFINITY;
  const pending: SseEvent[] = [];
  let dispatched = false;
  let commentBytes = 0;
  const parser = createParser({
    onEvent: (e) => {
      dispatched = true;
      pending.push({ event: e.event, data: e.data, id: e.id });
    },
    // A comment does not end the event it interrupts, so it must not reset the count (a
    // keep-alive after every data line would let one event grow without bound); its text
    // is not held by the parser, so it is not counted either, and idle keep-alives between
    // events add only their colon and line end.
    onComment: (comment) => {
      commentBytes += Buffer.byteLength(comment) + 1; // and its colon
    },
  });
  // Why stream: true: a multi-byte UTF-8 character may be cut between two chunks.
  const decoder = new TextDecoder('utf-8');
  // Bytes fed since a chunk last dispatched an event, less comment text: what the parser may
  // hold. Invariant: it misses at most the part of one chunk after its last dispatched event,
  // so the parser never holds more than `maxEventBytes` plus one chunk.
  let buffered = 0;
  let endsWithCr = false;
  const feed = (text: string): void => {
    if (text === '') return;
    endsWithCr = text.endsWith('\r');
    parser.feed(text);
  };
  for await (const chunk of iterate(body)) {
    dispatched = false;
    commentBytes = 0;
    feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    buffered = dispatched ? 0 : Math.max(0, buffered + chunk.length - commentBytes);
    while (pending.length > 0) yield pending.shift() as SseEvent;
    if (buffered > maxEventBytes) throw new ResponseCapError('event', maxEventBytes);
  }
  feed(decoder.decode());
  // A CR may be half of a CRLF, so the parser waits for the next byte; at EOF none comes,
  // and a stream using bare CR line ends would lose its last blank line, and its last event.
  if (endsWithCr) parser.feed('\n');
  // Invariant: an event not closed by a blank line at EOF is discarded, as the spec says;
  // `consume: true` would dispatch a half-received event as if it were whole.
  parser.reset();
  while (pending.length > 0) yield pending.shift() as SseEvent;
}

function iterate(body: ByteSource): AsyncIterable<Uint8Array | string> {
  if (Symbol.asyncIterator in body) return body as AsyncIterable<Uint8Array | string>;
  // Some runtimes' web streams are not async iterable; read them by hand.
  const stream = body as ReadableStream<Uint8Array>;
  return {
    async *[Symbol.asyncIterator]() {
      const reader = stream.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      } finally {
        reader.releaseLock();
      }
    },
  };
}
