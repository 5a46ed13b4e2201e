import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sseEvents, type SseEvent, type SseEventsOptions } from './sse-events.ts';

async function parse(chunks: (string | Uint8Array)[], options: SseEventsOptions = {}): Promise<SseEvent[]> {
  async function* gen(): AsyncGenerator<string | Uint8Array> {
    yield* chunks;
  }
  const out: SseEvent[] = [];
  for await (const e of sseEvents(gen(), options)) out.push(e);
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

test('more than maxEventBytes without a completed event throws ResponseCapError; keep-alives and events reset the count', async () => {
  const ok = await parse([': ka\n\n', 'data: ', 'a'.repeat(50), '\n\n', ': ka\n\n', 'data: ', 'b'.repeat(50), '\n\n'], { maxEventBytes: 64 });
  assert.deepEqual(ok.map((e) => e.data), ['a'.repeat(50), 'b'.repeat(50)]);
  await assert.rejects(parse(['data: ', 'a'.repeat(50), 'a'.repeat(50), '\n\n'], { maxEventBytes: 64 }), {
    name: 'ResponseCapError',
    message: 'one SSE event exceeds the 64-byte event cap',
  });
});

test('keep-alive comments inside an event do not reset its byte count; between events they barely add to it', async () => {
  const interleaved = Array.from({ length: 20 }, () => `data: ${'x'.repeat(16)}\n: keep-alive\n`);
  await assert.rejects(parse([...interleaved, '\n'], { maxEventBytes: 128 }), { name: 'ResponseCapError', message: 'one SSE event exceeds the 128-byte event cap' });
  const idle = await parse([...Array.from({ length: 30 }, () => ': keep-alive\n'), 'data: a\n\n'], { maxEventBytes: 128 });
  assert.deepEqual(idle, [{ event: undefined, data: 'a', id: undefined }]);
});

test('a stream with bare CR line ends keeps its last event, whole or cut byte by byte', async () => {
  const text = 'data: a\r\rdata: b\r\r';
  const expected: SseEvent[] = [
    { event: undefined, data: 'a', id: undefined },
    { event: undefined, data: 'b', id: undefined },
  ];
  assert.deepEqual([await parse([text]), await parse(bytesOneByOne(text))], [expected, expected]);
});
