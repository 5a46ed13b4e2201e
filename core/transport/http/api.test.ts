import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createScriptedProvider, parseScript } from '../../providers/index.ts';
import { FIXTURE_TOKEN, startGatewayFixture } from '../../../test/helpers/gateway-fixture.ts';

const TOKEN = FIXTURE_TOKEN;

/** A script: "write …" asks to write a file (needs approval), "echo …" echoes, anything else is answered in chunks. */
const SCRIPT = parseScript({
  version: 1,
  turns: [
    { when: { lastMessageRole: 'tool' }, text: 'tool said {{lastToolResult}}' },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'write ' }, toolCalls: [{ name: 'fs.write', arguments: { path: 'out.txt', content: '{{lastUserRest}}', mode: 'create' } }] },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'echo ' }, toolCalls: [{ name: 'echo', arguments: { text: '{{lastUserRest}}' } }] },
    { when: {}, text: 'a reply streamed in several small chunks', chunkSize: 5 },
  ],
});

async function startApi() {
  return startGatewayFixture({ provider: createScriptedProvider(SCRIPT), bodyLimit: 4096 });
}

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

test('a message sent over HTTP runs a tool and returns the final answer with ?wait=true', async () => {
  const api = await startApi();
  try {
    const created = await call(api.url, 'POST', '/api/v1/sessions', { key: 'k' });
    assert.equal(created.status, 201);
    const id = created.body?.id as string;
    assert.match(id, /^ses_/);
    assert.equal((await call(api.url, 'POST', '/api/v1/sessions', { key: 'k' })).status, 200, 'creating the same key again returns it');
    const sent = await call(api.url, 'POST', `/api/v1/sessions/${id}/messages?wait=true`, { text: 'echo hi', idempotencyKey: 'm1' });
    assert.equal(sent.status, 200);
    assert.equal(sent.body?.run.state, 'completed');
    assert.equal(sent.body?.run.finalText, 'tool said {"text":"hi"}');
    const dup = await call(api.url, 'POST', `/api/v1/sessions/${id}/messages`, { text: 'echo hi', idempotencyKey: 'm1' });
    assert.deepEqual([dup.status, dup.body?.duplicate, dup.body?.runId], [202, true, sent.body?.runId]);
    const reused = await call(api.url, 'POST', `/api/v1/sessions/${id}/messages`, { text: 'echo other', idempotencyKey: 'm1' });
    assert.deepEqual([reused.status, reused.body?.error?.code], [409, 'PALYRA_CONFLICT'], 'a key reused for another message is refused');
    const runs = await call(api.url, 'GET', `/api/v1/runs?session=${id}`);
    assert.equal(runs.body?.runs.length, 1);
    assert.equal((await call(api.url, 'GET', `/api/v1/runs/${sent.body?.runId}`)).body?.run.state, 'completed');
  } finally {
    await api.close();
  }
});

test('a tool call needing approval is approved through the API and the run completes', async () => {
  const api = await startApi();
  try {
    const id = (await call(api.url, 'POST', '/api/v1/sessions', {})).body?.id as string;
    const sent = await call(api.url, 'POST', `/api/v1/sessions/${id}/messages`, { text: 'write hello' });
    assert.equal(sent.status, 202);
    let pending: any[] = [];
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      pending = (await call(api.url, 'GET', '/api/v1/approvals')).body?.approvals ?? [];
      if (pending.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(pending.length, 1);
    assert.equal(pending[0].request.tool.name, 'fs.write');
    const bad = await call(api.url, 'POST', `/api/v1/approvals/${pending[0].id}`, { decision: 'maybe' });
    assert.equal(bad.status, 400);
    const resolved = await call(api.url, 'POST', `/api/v1/approvals/${pending[0].id}`, { decision: 'approve', scope: 'once' });
    assert.equal(resolved.status, 200);
    const run = await call(api.url, 'GET', `/api/v1/runs/${sent.body?.runId}`);
    for (let i = 0; i < 200; i++) {
      const r = await call(api.url, 'GET', `/api/v1/runs/${sent.body?.runId}`);
      if (r.body?.run.state === 'completed') break;
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.ok(run.status === 200);
    const finished = (await call(api.url, 'GET', `/api/v1/runs/${sent.body?.runId}`)).body?.run;
    assert.equal(finished.state, 'completed');
    assert.match(finished.finalText, /^tool said \{"bytes":5,"created":true/, "the approved write itself succeeded");
    assert.equal(readFileSync(join(api.workspace, 'out.txt'), 'utf8'), 'hello');
  } finally {
    await api.close();
  }
});

test('archiving a session over the API forgets the approvals its session scope granted', async () => {
  const api = await startApi();
  try {
    const id = (await call(api.url, 'POST', '/api/v1/sessions', {})).body?.id as string;
    const sent = await call(api.url, 'POST', `/api/v1/sessions/${id}/messages`, { text: 'write hello' });
    let pending: any[] = [];
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      pending = (await call(api.url, 'GET', '/api/v1/approvals')).body?.approvals ?? [];
      if (pending.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    const request = pending[0].request;
    assert.equal((await call(api.url, 'POST', `/api/v1/approvals/${pending[0].id}`, { decision: 'approve', scope: 'session' })).status, 200);
    for (let i = 0; i < 200; i++) {
      if ((await call(api.url, 'GET', `/api/v1/runs/${sent.body?.runId}`)).body?.run.state === 'completed') break;
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.equal(api.approvals.approvalState(request), 'approved');
    assert.equal((await call(api.url, 'POST', `/api/v1/sessions/${id}/archive`, {})).status, 200);
    assert.equal(api.approvals.approvalState(request), 'none');
  } finally {
    await api.close();
  }
});

test('the run event stream (SSE) resumes after Last-Event-ID without losing or repeating events', async () => {
  const api = await startApi();
  try {
    const id = (await call(api.url, 'POST', '/api/v1/sessions', {})).body?.id as string;
    const sent = await call(api.url, 'POST', `/api/v1/sessions/${id}/messages?wait=true`, { text: 'tell me something' });
    const runId = sent.body?.runId as string;
    const read = async (headers: Record<string, string>) => {
      const res = await fetch(`${api.url}/api/v1/runs/${runId}/events`, { headers: { ...auth, ...headers } });
      assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      return [...(await res.text()).matchAll(/^id: (\d+)\nevent: (\S+)/gm)].map((m) => [Number(m[1]), m[2]] as const);
    };
    const all = await read({});
    const deltas = all.filter(([, type]) => type === 'text_delta');
    assert.ok(deltas.length >= 5, `streamed in chunks: ${deltas.length}`);
    assert.equal(all.at(-1)?.[1], 'end');
    assert.deepEqual(all.map(([seq]) => seq), all.map((_, i) => i + 1), 'numbered from 1 without gaps');
    const resumed = await read({ 'last-event-id': '4' });
    assert.deepEqual(resumed, all.slice(4));
    for (const bad of ['0x2', '1e0', '', '-1']) {
      const res = await fetch(`${api.url}/api/v1/runs/${runId}/events?after=${bad}`, { headers: auth });
      assert.equal(res.status, 400, `after=${bad}`);
    }
  } finally {
    await api.close();
  }
});

test('SSE of an ended run past the 10,000 buffered events: the gap comes first, the daemon stays up, and asking after the end gets 204', async () => {
  const long = parseScript({ version: 1, turns: [{ when: {}, text: 'x'.repeat(12_000), chunkSize: 1 }] });
  const api = await startGatewayFixture({ provider: createScriptedProvider(long), bodyLimit: 4096 });
  try {
    const id = (await call(api.url, 'POST', '/api/v1/sessions', {})).body?.id as string;
    const runId = (await call(api.url, 'POST', `/api/v1/sessions/${id}/messages?wait=true`, { text: 'go on' })).body?.runId as string;
    for (const headers of [{}, { 'last-event-id': '1' }] as Record<string, string>[]) {
      const res = await fetch(`${api.url}/api/v1/runs/${runId}/events`, { headers: { ...auth, ...headers } });
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.ok(text.startsWith('event: gap\n'), text.slice(0, 80));
      assert.match(text, /event: end\ndata: /);
    }
    const lastSeq = Number([...(await (await fetch(`${api.url}/api/v1/runs/${runId}/events`, { headers: auth })).text()).matchAll(/^id: (\d+)/gm)].at(-1)?.[1]);
    const after = await fetch(`${api.url}/api/v1/runs/${runId}/events`, { headers: { ...auth, 'last-event-id': String(lastSeq) } });
    assert.equal(after.status, 204);
    assert.equal((await fetch(`${api.url}/healthz`)).status, 200, 'the daemon is still up');
  } finally {
    await api.close();
  }
});

test('every API route refuses a missing or wrong token; bad requests get clear errors', async () => {
  const api = await startApi();
  try {
    const routes: [string, string][] = [
      ['GET', '/api/v1/sessions'],
      ['POST', '/api/v1/sessions'],
      ['GET', '/api/v1/sessions/x'],
      ['POST', '/api/v1/sessions/x/archive'],
      ['POST', '/api/v1/sessions/x/messages'],
      ['GET', '/api/v1/runs'],
      ['GET', '/api/v1/runs/x'],
      ['POST', '/api/v1/runs/x/cancel'],
      ['GET', '/api/v1/runs/x/events'],
      ['GET', '/api/v1/approvals'],
      ['POST', '/api/v1/approvals/x'],
      ['GET', '/api/v1/journal'],
      ['GET', '/metrics'],
    ];
    for (const [method, path] of routes) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }] as Record<string, string>[]) {
        const r = await call(api.url, method, path, method === 'POST' ? {} : undefined, headers);
        assert.equal(r.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
        assert.equal(r.body?.error.code, 'PALYRA_UNAUTHORIZED');
      }
    }
    assert.equal((await call(api.url, 'GET', '/healthz', undefined, {})).status, 200);
    const malformed = await call(api.url, 'POST', '/api/v1/sessions', '{"key":', auth);
    assert.deepEqual([malformed.status, malformed.body?.error.code], [400, 'PALYRA_INVALID_JSON']);
    const big = await call(api.url, 'POST', '/api/v1/sessions', { label: 'x'.repeat(5000) });
    assert.deepEqual([big.status, big.body?.error.code], [413, 'PALYRA_PAYLOAD_TOO_LARGE']);
    assert.equal((await call(api.url, 'GET', '/api/v1/nope')).status, 404);
    assert.equal((await call(api.url, 'DELETE', '/api/v1/sessions')).status, 405);
    assert.equal((await call(api.url, 'GET', '/api/v1/runs/run_missing')).status, 404);
    const noText = await call(api.url, 'POST', '/api/v1/sessions/none/messages', { text: 'x' });
    assert.deepEqual([noText.status, noText.body?.error.code], [404, 'PALYRA_NOT_FOUND']);
    // Without a token nothing is routed: unknown routes and malformed paths are 401 too.
    assert.equal((await call(api.url, 'GET', '/api/v1/nope', undefined, {})).status, 401);
    assert.equal((await call(api.url, 'GET', '/api/v1/runs/%E0%A4%A', undefined, {})).status, 401);
    const badEscape = await call(api.url, 'GET', '/api/v1/runs/%E0%A4%A');
    assert.deepEqual([badEscape.status, badEscape.body?.error.code], [400, 'PALYRA_INVALID_ARGUMENT']);
    for (const limit of ['1e3', '0x10', '', '-1', '0']) assert.equal((await call(api.url, 'GET', `/api/v1/runs?limit=${limit}`)).status, 400, `limit=${limit}`);
    const owner = await call(api.url, 'POST', '/api/v1/sessions', { owner: 'yes' });
    assert.deepEqual([owner.status, owner.body?.error.message], [400, 'owner must be true or false']);
    const noApproval = await call(api.url, 'POST', '/api/v1/approvals/apr_nonexistent', { decision: 'deny' });
    assert.deepEqual([noApproval.status, noApproval.body?.error.code], [404, 'PALYRA_APPROVAL_NOT_FOUND']);
  } finally {
    await api.close();
  }
});

test('only an interrupted run can be resumed: others get 409, unknown runs 404', async () => {
  const api = await startApi();
  try {
    const id = (await call(api.url, 'POST', '/api/v1/sessions', {})).body?.id as string;
    const sent = await call(api.url, 'POST', `/api/v1/sessions/${id}/messages?wait=true`, { text: 'hello' });
    const resumed = await call(api.url, 'POST', `/api/v1/runs/${sent.body?.runId}/resume`);
    assert.equal(resumed.status, 409);
    assert.match(resumed.body?.error.message, /only a run a stop of the daemon cut off \(a crash, or a clean stop\) can be resumed/);
    assert.equal((await call(api.url, 'POST', '/api/v1/runs/run_nope/resume')).status, 404);
  } finally {
    await api.close();
  }
});

test('the body cap holds for a chunked body that declares no length', async () => {
  const api = await startApi();
  try {
    const { request } = await import('node:http');
    const answer = await new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
      const req = request(`${api.url}/api/v1/sessions`, { method: 'POST', headers: { ...auth, 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, any> }));
      });
      req.on('error', reject);
      req.write('{"label":"');
      for (let i = 0; i < 5; i++) req.write('x'.repeat(1000));
      req.end('"}');
    });
    assert.deepEqual([answer.status, answer.body.error.code], [413, 'PALYRA_PAYLOAD_TOO_LARGE']);
    assert.deepEqual((await call(api.url, 'GET', '/api/v1/sessions')).body?.sessions, [], 'nothing was created');
  } finally {
    await api.close();
  }
});

test('HEAD answers as GET without a body (an event stream ends at once); a relative or ".." workspace and long values in errors are refused or cut', async () => {
  const api = await startApi();
  try {
    const head = await fetch(`${api.url}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal((await fetch(`${api.url}/api/v1/sessions`, { method: 'HEAD' })).status, 401, 'HEAD is authenticated like GET');
    const created = await call(api.url, 'POST', '/api/v1/sessions', {});
    const sent = await call(api.url, 'POST', `/api/v1/sessions/${created.body?.id}/messages?wait=true`, { text: 'echo hi' });
    const events = await fetch(`${api.url}/api/v1/runs/${sent.body?.runId}/events?after=1`, { method: 'HEAD', headers: auth });
    assert.deepEqual([events.status, events.headers.get('content-type'), await events.text()], [200, 'text/event-stream; charset=utf-8', '']);
    for (const workspace of ['relative/dir', '/tmp/../etc', '../../tmp']) {
      const refused = await call(api.url, 'POST', '/api/v1/sessions', { workspace });
      assert.equal(refused.status, 400, workspace);
      assert.match(refused.body?.error.message, /^workspace must be an absolute path without "\.\."/);
    }
    assert.equal((await call(api.url, 'POST', '/api/v1/sessions', { workspace: '/srv/agents/one' })).status, 201);
  } finally {
    await api.close();
  }
});
