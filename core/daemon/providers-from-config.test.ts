import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { systemClock } from '../base/index.ts';
import { collect } from '../providers/index.ts';
import { providerDefaults } from './config-defaults.ts';
import { providerFromConfig } from './providers-from-config.ts';

const TIMEOUTS = { connectMs: 1000, firstByteMs: 1000, idleMs: 1000 };
const ANTHROPIC_OK = [
  { type: 'message_start', message: { usage: { input_tokens: 1, output_tokens: 1 } } },
  { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } },
  { type: 'message_stop' },
].map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');

/** Models the local server was asked for, by path: /down answers 500, /anthropic a whole message. */
const asked: Array<[string, string]> = [];
let baseUrl = '';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    asked.push([req.url ?? '', (JSON.parse(body) as { model: string }).model]);
    if (req.url?.startsWith('/down')) {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"down"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end(ANTHROPIC_OK);
  });
});
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const anthropic = (extra: Record<string, unknown> = {}) =>
  providerDefaults({ type: 'anthropic', baseUrl: `${baseUrl}/anthropic`, apiKeyEnv: 'KEY', timeouts: TIMEOUTS, retries: 0, ...extra });
const ENV = { KEY: 'sk-ant-0123456789' };

test('an anthropic entry without model asks for the adapter default, alone and as a failover entry', async () => {
  asked.length = 0;
  const alone = await providerFromConfig([anthropic()], ENV, systemClock);
  const aloneTurn = await collect(alone.provider.stream({ model: alone.model, messages: [{ role: 'user', content: 'hi' }] }));
  const chain = await providerFromConfig(
    [providerDefaults({ type: 'openai', id: 'first', baseUrl: `${baseUrl}/down`, model: 'gpt-first', timeouts: TIMEOUTS, retries: 0 }), anthropic()],
    ENV,
    systemClock,
  );
  const chainTurn = await collect(chain.provider.stream({ model: chain.model, messages: [{ role: 'user', content: 'hi' }] }));
  assert.deepEqual([alone.model, aloneTurn.error, chain.model, chainTurn.error], ['claude-sonnet-4-5', null, 'gpt-first', null]);
  assert.deepEqual(asked, [
    ['/anthropic/v1/messages', 'claude-sonnet-4-5'],
    ['/down/chat/completions', 'gpt-first'],
    ['/anthropic/v1/messages', 'claude-sonnet-4-5'],
  ]);
});

test('an openai entry without model is refused with a message naming it', async () => {
  const entries = [anthropic({ model: 'claude-x' }), providerDefaults({ type: 'openai', id: 'local', baseUrl: 'http://127.0.0.1:1/v1' })];
  await assert.rejects(providerFromConfig(entries, ENV, systemClock), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: 'Provider "local" (providers[1], openai) needs model: OpenAI-compatible servers have no common default model',
  });
});

test('a scripted entry without model is named "scripted"', async () => {
  const { model } = await providerFromConfig([providerDefaults({ type: 'scripted' })], {}, systemClock);
  assert.equal(model, 'scripted');
});

test('an API key variable holding a control character is refused, naming the variable and never the value', async () => {
  await assert.rejects(providerFromConfig([anthropic({ model: 'claude-x' })], { KEY: 'sk-ant-0123456789\n' }, systemClock), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: 'Provider "anthropic" reads its API key from KEY, which contains a control character (a trailing newline?); HTTP headers cannot carry it',
  });
});

test('an anthropic entry whose key variable is unset or empty is refused at start, naming the variable', async () => {
  for (const env of [{}, { KEY: '' }]) {
    await assert.rejects(providerFromConfig([anthropic({ model: 'claude-x' })], env, systemClock), {
      code: 'PALYRA_INVALID_ARGUMENT',
      message: 'Provider "anthropic" needs its API key in the environment variable KEY, which is not set',
    });
  }
});
