import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChatRequest } from './chat-request.ts';
import { OpenAiHttpError } from './openai-errors.ts';

test('only the newest user message is taken; system, developer and assistant messages are ignored', () => {
  const request = parseChatRequest({
    model: 'gpt-4o',
    user: 'alice@example.com',
    stream: true,
    stream_options: { include_usage: true },
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'answer' },
      { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'text', text: 'part' }] },
      { role: 'developer', content: 'trailing instructions are ignored too' },
    ],
  });
  assert.deepEqual(request, { text: 'second\npart', user: 'alice@example.com', stream: true, includeUsage: true, model: 'gpt-4o' });
});

test('defaults: no user, not streamed, no usage chunk, any model', () => {
  assert.deepEqual(parseChatRequest({ messages: [{ role: 'user', content: 'hi' }], n: 1 }), { text: 'hi', user: null, stream: false, includeUsage: false, model: null });
});

test('every refusal is a 400 naming the field', () => {
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{}, 'messages', 'messages must be a non-empty array of chat messages'],
    [{ messages: 'hi' }, 'messages', 'messages must be a non-empty array of chat messages'],
    [{ messages: [{ content: 'x' }] }, 'messages', 'messages[0] must be an object with a role'],
    [{ messages: [{ role: 'system', content: 'x' }] }, 'messages', 'The last message must be a user message: palyrad answers the newest user message'],
    [{ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }] }, 'messages', 'The last message must be a user message: palyrad answers the newest user message'],
    [{ messages: [{ role: 'robot', content: 'x' }] }, 'messages', 'messages[0] has an unknown role "robot"'],
    [
      { messages: [{ role: 'user', content: 'x' }, { role: 'function', name: 'f', content: '{}' }] },
      'messages',
      'messages[1] has role "function": palyrad runs its own tools under its policies and takes no tool results from clients',
    ],
    [{ messages: [{ role: 'user', content: '  ' }] }, 'messages', 'messages[0] has no text'],
    [{ messages: [{ role: 'user', content: null }] }, 'messages', 'messages[0].content must be a string or an array of text parts'],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages', 'messages[0].content[0] is not a text part: palyrad takes text only'],
    [{ messages: [{ role: 'user', content: 'x' }], n: 3 }, 'n', 'n must be 1: palyrad answers with one choice, not 3'],
    [{ messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 'stream', 'stream must be true or false'],
    [{ messages: [{ role: 'user', content: 'x' }], stream_options: [] }, 'stream_options', 'stream_options must be an object'],
    [{ messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: 1 } }, 'stream_options', 'stream_options.include_usage must be true or false'],
    [{ messages: [{ role: 'user', content: 'x' }], user: 'a b' }, 'user', 'user must be 1–121 letters, digits or . _ : @ / - (it names the palyrad session), not "a b"'],
  ];
  for (const [body, param, message] of cases) {
    assert.throws(
      () => parseChatRequest(body),
      (e) => {
        assert.ok(e instanceof OpenAiHttpError);
        assert.deepEqual([e.status, e.body, e.retry], [400, { error: { message, type: 'invalid_request_error', code: 'PALYRA_INVALID_ARGUMENT', param } }, false]);
        return true;
      },
    );
  }
});
