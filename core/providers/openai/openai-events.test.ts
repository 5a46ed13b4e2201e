import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenAiStreamMapper } from './openai-events.ts';

const MALFORMED = { code: 'upstream', message: 'Provider "openai" sent a malformed response: a stream chunk is not JSON', retryable: true };

test('a stream chunk that is not JSON ends the stream with a retryable upstream failure', () => {
  const mapper = new OpenAiStreamMapper('openai');
  assert.deepEqual(mapper.push('{"choices":[{"index":0,"delta":{"content":"a"}}]}'), { events: [{ type: 'text_delta', text: 'a' }], done: false });
  assert.deepEqual(mapper.push('{"choices":[{"index":0,"delta":{"content":'), { events: [{ type: 'error', error: MALFORMED }], done: true });
});
