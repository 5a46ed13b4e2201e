import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../core/daemon/config.ts';
import { startDaemon } from '../core/daemon/daemon.ts';
import { readRecords } from '../core/journal/index.ts';
import { tempDir } from './helpers/temp-dir.ts';

async function daemon() {
  const stateDir = tempDir();
  const config = loadConfig({ stateDir, env: {}, flags: { 'server.port': 0 } }).config;
  const running = await startDaemon({ stateDir, config, env: {}, version: 'test' });
  const token = readFileSync(running.adminTokenPath, 'utf8').trim();
  const call = async (method: string, path: string, body?: unknown, auth = true) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers.authorization = `Bearer ${token}`;
    const res = await fetch(running.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  return { running, call, stateDir };
}

const ALLOW_ECHO = '@id("ops.echo") permit (principal, action, resource == Tool::"echo");\n';
const TYPO = '@id("ops.typo") permit (principal, action, resource) when { resource.capabilitys.isEmpty() };\n';

test('operators list tools, page through journal events and verify the journal over the API', async () => {
  const { running, call } = await daemon();
  try {
    const tools = await call('GET', '/api/v1/tools');
    assert.equal(tools.status, 200);
    const names = tools.body.tools.map((t: { name: string }) => t.name);
    assert.ok(names.includes('echo') && names.includes('fs.read'), names.join(','));
    assert.ok(tools.body.tools.every((t: Record<string, unknown>) => Array.isArray(t.capabilities) && typeof t.risk === 'string'));

    assert.equal((await call('POST', '/api/v1/sessions', { key: 'a' })).status, 201);
    assert.equal((await call('POST', '/api/v1/sessions', { key: 'b' })).status, 201);
    const first = await call('GET', '/api/v1/journal/events?after=0&limit=2');
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.events.map((e: { seq: number }) => e.seq), [1, 2]);
    assert.equal(first.body.next, 2);
    const rest = await call('GET', `/api/v1/journal/events?after=${first.body.next}&limit=1000`);
    assert.equal(rest.body.events[0].seq, 3, 'the next page starts where the first ended');
    assert.deepEqual(rest.body.events.filter((e: { kind: string }) => e.kind === 'session.created').length, 2);
    assert.equal((await call('GET', '/api/v1/journal/events?limit=0')).status, 400);
    assert.equal((await call('GET', '/api/v1/journal/events?after=-1')).status, 400);

    const verified = await call('GET', '/api/v1/journal/verify');
    assert.equal(verified.status, 200);
    assert.equal(verified.body.report.ok, true);
    assert.ok(verified.body.report.head.seq >= 3);
    assert.equal((await call('GET', '/api/v1/journal/verify', undefined, false)).status, 401, 'the admin token is required');
  } finally {
    await running.stop('test');
  }
});

test('the policy set is replaced whole over the API, validated first and journaled', async () => {
  const { running, call, stateDir } = await daemon();
  try {
    const before = (await call('GET', '/api/v1/policies')).body.hash as string;
    const refused = await call('PUT', '/api/v1/policies', { files: { 'typo.cedar': TYPO } });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'PALYRA_POLICY_INVALID');
    assert.ok(refused.body.error.problems.length >= 1, 'every problem is listed');
    assert.equal((await call('GET', '/api/v1/policies')).body.hash, before, 'a refused set changes nothing');
    assert.equal((await call('PUT', '/api/v1/policies', { files: ['x'] })).status, 400);
    assert.equal((await call('PUT', '/api/v1/policies', { files: { '../x.cedar': ALLOW_ECHO } })).status, 400);
    assert.equal((await call('PUT', '/api/v1/policies', { files: {} }, false)).status, 401, 'operator only');

    const replaced = await call('PUT', '/api/v1/policies', { files: { 'ops.cedar': ALLOW_ECHO } });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.previousHash, before);
    const now = await call('GET', '/api/v1/policies');
    assert.equal(now.body.hash, replaced.body.policySetHash);
    assert.ok(now.body.policies.some((p: { id: string }) => p.id === 'ops.echo'));
    assert.deepEqual(readdirSync(join(stateDir, 'policies')), ['ops.cedar']);
  } finally {
    await running.stop('test');
  }
  const kinds = [...readRecords(join(stateDir, 'journal', 'segments'))].map((l) => l.record);
  const journaled = kinds.find((r) => r.kind === 'policy.replaced');
  assert.ok(journaled, 'the replace is on the journal');
  const payload = JSON.parse(journaled.payloadJson) as { files: { name: string; text: string }[] };
  assert.deepEqual(payload.files.map((f) => [f.name, f.text]), [['ops.cedar', ALLOW_ECHO]]);
});
