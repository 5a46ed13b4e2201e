import { createParser } from 'eventsource-parser';

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

/**
 * Yields every event of an SSE byte stream, in order. Comments (`: keep-alive`) and empty
 * events are skipped: no adapter here needs them, and keep-alives still reset the caller's
 * idle timer because they arrive as bytes.
 */
export async function* sseEvents(body: ByteSource): AsyncGenerator<SseEvent> {
  const pending: SseEvent[] = [];
  const parser = createParser({
    onEvent: (e) => pending.push({ event: e.event, data: e.data, id: e.id }),
  });
  // Why stream: true: a multi-byte UTF-8 character may be cut between two chunks.
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of iterate(body)) {
    parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    while (pending.length > 0) yield pending.shift() as SseEvent;
  }
  const tail = decoder.decode();
  if (tail !== '') parser.feed(tail);
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
