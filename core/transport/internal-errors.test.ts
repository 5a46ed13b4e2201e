import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { FIXTURE_TOKEN, startGatewayFixture } from '../../test/helpers/gateway-fixture.ts';
import { PalyraError } from '../base/index.ts';
import { createScriptedProvider, parseScript } from '../providers/index.ts';
import { registerOpenAiRoutes } from './openai/openai-routes.ts';
import { attachWebSocket } from './ws/ws-server.ts';

const SCRIPT = parseScript({ version: 1, turns: [{ when: {}, text: 'hello' }] });
/** A bug's message names local paths: what a client must not be told. */
const BUG_MESSAGE = "Cannot read properties of undefined (reading 'id') in /home/operator/palyra/state/sessions";
const REFERENCE_MESSAGE = /^Internal error \(reference ([0-9a-f]{8})\); the daemon's log has the details$/;

test('a bug a client meets over HTTP, the OpenAI surface or WebSocket is answered with a reference; the details go to the report under it', async () => {
  const reported: { reference: string; error: unknown }[] = [];
  const onInternalError = (reference: string, error: unknown) => void reported.push({ reference, error });
  const fx = await startGatewayFixture({
    provider: createScriptedProvider(SCRIPT),
    onInternalError,
    extraRoutes: (router, gateway) => registerOpenAiRoutes(router, { gateway, model: 'palyra', onInternalError }),
    attach: (server, gateway) => attachWebSocket(server, { gateway, authenticate: (t) => t === FIXTURE_TOKEN, onInternalError }),
  });
  try {
    const { session } = await fx.gateway.sessions.create({});
    let fault: Error = new TypeError(BUG_MESSAGE);
    fx.gateway.admit = async () => {
      throw fault;
    };
    const headers = { authorization: `Bearer ${FIXTURE_TOKEN}`, 'content-type': 'application/json' };
    /** Asserts one reference was reported for the bug and the client's message names it, not the details. */
    const assertReferenced = (message: string, what: string) => {
      const reference = REFERENCE_MESSAGE.exec(message)?.[1];
      assert.ok(reference, `${what}: ${message}`);
      const report = reported.shift();
      assert.equal(report?.reference, reference, what);
      assert.equal((report?.error as Error).message, BUG_MESSAGE, what);
    };

    const api = await fetch(`${fx.url}/api/v1/sessions/${session.id}/messages`, { method: 'POST', headers, body: JSON.stringify({ text: 'hi' }) });
    const apiBody = (await api.json()) as { error: { code: string; message: string } };
    assert.deepEqual([api.status, apiBody.error.code], [500, 'PALYRA_INTERNAL']);
    assertReferenced(apiBody.error.message, 'HTTP API');

    const openai = await fetch(`${fx.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'palyra', messages: [{ role: 'user', content: 'hi' }] }) });
    const openaiBody = (await openai.json()) as { error: { code: string; type: string; message: string } };
    assert.deepEqual([openai.status, openaiBody.error.code, openaiBody.error.type], [500, 'PALYRA_INTERNAL', 'server_error']);
    assertReferenced(openaiBody.error.message, 'OpenAI surface');

    const ws = new WebSocket(`${fx.url.replace(/^http/, 'ws')}/api/v1/ws`, { headers: { authorization: `Bearer ${FIXTURE_TOKEN}` } });
    const errors: { ref: unknown; error: { code: string; message: string } }[] = [];
    let wake = (): void => undefined;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { op: string; ref: unknown; error: { code: string; message: string } };
      if (frame.op === 'error') errors.push(frame);
      wake();
    });
    const errorCount = (n: number) => new Promise<void>((resolve) => {
      wake = () => errors.length >= n && resolve();
      wake();
    });
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    ws.send(JSON.stringify({ op: 'send', id: 'bug', session: session.id, text: 'hi' }));
    await errorCount(1);
    fault = new PalyraError('PALYRA_NOT_FOUND', 'No session "x"');
    ws.send(JSON.stringify({ op: 'send', id: 'told', session: session.id, text: 'hi' }));
    await errorCount(2);
    ws.close();
    assert.equal(errors[0]?.ref, 'bug');
    assert.equal(errors[0]?.error.code, 'PALYRA_INTERNAL');
    assertReferenced(errors[0]?.error.message ?? '', 'WebSocket');
    assert.deepEqual(errors[1], { ...errors[1], ref: 'told', error: { code: 'PALYRA_NOT_FOUND', message: 'No session "x"' } }, 'a PalyraError is told as it is');
    assert.deepEqual(reported, [], 'and is not reported');
  } finally {
    await fx.close();
  }
});
