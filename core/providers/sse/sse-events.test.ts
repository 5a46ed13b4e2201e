import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sseEvents, type SseEvent } from './sse-events.ts';

async function parse(chunks: (string | Uint8Array)[]): Promise<SseEvent[]> {
  async function* gen(): AsyncGenerator<string | Uint8Array> {
    yield* chunks;
  }
  const out: SseEvent[] = [];
  for await (const e of sseEvents(gen())) out.push(e);
  return out;
}

function bytesOneByOne(text: string): Uint8Array[] {
  return [...new TextEncoder().encode(text)].map((b) => Uint8Array.of(b));
}

const SAMPLE = ': keep-alive\n\nevent: message_start\ndata: {"a":1}\n\ndata: line1\ndata: line2\n\n:\n\ndata: é€😀\r\n\r\n';
const EXPECTED: SseEvent[] = [
  { event: 'message_start', data: '{"a":1}', id: undefined },
  { event: undefined, data: 'line1\nline2', id: undefined },
  { event: undefined, data: 'é€😀', id: undefined },
];

test('parses events, multi-line data, comments and keep-alives in one chunk', async () => {
  assert.deepEqual(await parse([SAMPLE]), EXPECTED);
});

test('parses the same events when every byte arrives alone, splitting UTF-8 characters', async () => {
  assert.deepEqual(await parse(bytesOneByOne(SAMPLE)), EXPECTED);
});

test('reads a web ReadableStream', async () => {
  const bytes = new TextEncoder().encode(SAMPLE);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes.slice(0, 7));
      c.enqueue(bytes.slice(7));
      c.close();
    },
  });
  const out: SseEvent[] = [];
  for await (const e of sseEvents(stream)) out.push(e);
  assert.deepEqual(out, EXPECTED);
});

test('drops an event left unterminated at end of stream', async () => {
  assert.deepEqual(await parse(['data: a\n\ndata: b']), [{ event: undefined, data: 'a', id: undefined }]);
});
