import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../core/daemon/config.ts';
import { startDaemon } from '../core/daemon/daemon.ts';
import { createWorkerToken } from '../core/daemon/worker-tokens.ts';
import { readRecords } from '../core/journal/index.ts';
import { tempDir } from './helpers/temp-dir.ts';

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the admin token and every worker token, also one created while the daemon runs, are never journaled', { timeout: 60_000 }, async () => {
  const stateDir = join(tempDir(), 'state');
  const before = createWorkerToken(stateDir, 'before');
  const config = loadConfig({ stateDir, env: {}, flags: { 'server.port': 0 } }).config;
  const running = await startDaemon({ stateDir, config, env: {}, version: 'test' });
  try {
    const admin = readFileSync(running.adminTokenPath, 'utf8').trim();
    // `worker token create` is an offline command that works while the daemon runs.
    const during = createWorkerToken(stateDir, 'during');
    await until(() => running.journal.redactor.redact(during).count === 1, 'the daemon to learn the new worker token');
    const call = (path: string, body: unknown) =>
      fetch(running.url + path, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await call('/api/v1/sessions', { key: 'ops' })).status, 201);
    const sent = await call('/api/v1/sessions/ops/messages?wait=true', { text: `echo the tokens are ${admin} ${before} ${during}` });
    assert.equal(sent.status, 200);
    // The echo tool returned the tokens; the model saw markers instead (its answer quotes what it saw).
    const finalText = ((await sent.json()) as { run: { finalText: string } }).run.finalText;
    assert.match(finalText, /the tokens are \[REDACTED:known_secret\] \[REDACTED:known_secret\] \[REDACTED:known_secret\]/);
    const journaled = [...readRecords(join(running.paths.journal, 'segments'), { fromSeq: 1 })].map(({ record }) => record.payloadJson).join('\n');
    assert.ok(journaled.includes('the tokens are'), 'the message was journaled');
    assert.deepEqual([admin, before, during].map((token) => journaled.includes(token)), [false, false, false]);
  } finally {
    await running.stop('test');
  }
});
