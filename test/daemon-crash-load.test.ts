import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRecords } from '../core/journal/index.ts';
import { runCli } from './helpers/cli.ts';
import { fetchFresh } from './helpers/http.ts';
import { exited, serve } from './helpers/daemon-process.ts';
import { tempDir } from './helpers/temp-dir.ts';

const SESSIONS = 16;
const MESSAGES_PER_SESSION = 6;

test('kill -9 under load, then restart: the journal verifies and no acknowledged message is lost or run twice', { timeout: 120_000 }, async () => {
  const root = join(tempDir(), 'state');
  const first = await serve(root);
  const token = readFileSync(join(root, 'auth', 'admin.token'), 'utf8').trim();
  const post = (port: number, path: string, body: unknown) =>
    fetchFresh(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const sessions: string[] = [];
  for (let i = 0; i < SESSIONS; i++) sessions.push(((await (await post(first.port, '/api/v1/sessions', { key: `load-${i}` })).json()) as { id: string }).id);

  // Every session sends its messages one after another (followup: one run each) while the
  // daemon is killed part way; what was acknowledged (202) is what must survive.
  const acknowledged = new Map<string, { runId: string; messageId: string; session: string }>();
  let killed = false;
  const senders = sessions.map(async (session, s) => {
    for (let m = 0; m < MESSAGES_PER_SESSION && !killed; m++) {
      const key = `k-${s}-${m}`;
      try {
        const res = await post(first.port, `/api/v1/sessions/${session}/messages`, { text: `echo ${key}`, idempotencyKey: key, mode: 'followup' });
        if (res.status === 202) {
          const body = (await res.json()) as { runId: string; messageId: string };
          acknowledged.set(key, { ...body, session });
        }
      } catch {
        return; // the daemon died under this request: not acknowledged
      }
    }
  });
  while (acknowledged.size < (SESSIONS * MESSAGES_PER_SESSION) / 3) await new Promise((r) => setTimeout(r, 2));
  first.child.kill('SIGKILL');
  killed = true;
  await exited(first.child);
  await Promise.all(senders);
  assert.ok(acknowledged.size > 0);

  const verify = runCli(['--state', root, 'journal', 'verify', '--json']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.equal(JSON.parse(verify.stdout).ok, true);

  const second = await serve(root);
  // Re-sending every acknowledged message is a duplicate of the first admission: nothing lost.
  for (const [key, ack] of acknowledged) {
    const again = (await (await post(second.port, `/api/v1/sessions/${ack.session}/messages`, { text: `echo ${key}`, idempotencyKey: key, mode: 'followup' })).json()) as { duplicate: boolean; runId: string };
    assert.deepEqual([again.duplicate, again.runId], [true, ack.runId], `message ${key} was acknowledged before the crash`);
  }
  // Wait until every run the restart picked up has ended, then stop cleanly.
  const runIds = new Set([...acknowledged.values()].map((a) => a.runId));
  for (let i = 0; i < 500; i++) {
    const runs = (await (await fetchFresh(`http://127.0.0.1:${second.port}/api/v1/runs?limit=10000`, { headers: { authorization: `Bearer ${token}` } })).json()) as { runs: { runId: string; state: string }[] };
    const open = runs.runs.filter((r) => runIds.has(r.runId) && !['completed', 'failed', 'cancelled'].includes(r.state));
    if (open.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  second.child.kill('SIGTERM');
  assert.equal(await exited(second.child), 0, second.stderr());

  const records = [...readRecords(join(root, 'journal', 'segments'))].map((l) => l.record);
  const admittedKeys = records.filter((r) => r.kind === 'message.received').map((r) => (JSON.parse(r.payloadJson) as { idempotencyKey: string }).idempotencyKey);
  for (const key of acknowledged.keys()) assert.equal(admittedKeys.filter((k) => k === key).length, 1, `message ${key} is admitted exactly once`);
  const startedPerRun = new Map<string, number>();
  for (const r of records) if (r.kind === 'run.started' && r.runId) startedPerRun.set(r.runId, (startedPerRun.get(r.runId) ?? 0) + 1);
  for (const runId of runIds) {
    const started = startedPerRun.get(runId) ?? 0;
    assert.equal(started, 1, `run ${runId} ran exactly once (interrupted runs end failed, unstarted ones run after the restart)`);
  }
  const finalVerify = JSON.parse(runCli(['--state', root, 'journal', 'verify', '--json']).stdout);
  assert.deepEqual([finalVerify.ok, finalVerify.anchored], [true, true]);
});
