import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import type { AppendInput } from '../journal/index.ts';
import { ApprovalRegistry, decideToolCall, PolicyStore, toolCallRequest } from '../policy/index.ts';
import { persistAndJournal } from './approved-policy.ts';

test('an always approval journals policy.approved (approval, run, approver, policy, file hash, set hash) before the answer is acknowledged', async () => {
  const store = await PolicyStore.open(join(tempDir(), 'policies'));
  const appended: AppendInput[] = [];
  let durable!: () => void;
  const journal = { append: (input: AppendInput) => (appended.push(input), new Promise<void>((resolve) => (durable = resolve))) };
  const registry = new ApprovalRegistry({ clock: { now: () => Date.UTC(2025, 4, 1) }, newId: () => 'A1', persistAlways: persistAndJournal(store, journal) });
  const call = toolCallRequest({ tool: { name: 'fs.write' }, principal: { type: 'Session', id: 's1', agent: 'main' }, args: { path: 'a.md' } });
  const { approval } = registry.open(call, decideToolCall(call, store.current), { runId: 'run-7' });
  let acknowledged = false;
  const answer = registry.resolve(approval.id, { type: 'approve', scope: 'always', by: 'ann' }).then((o) => ((acknowledged = true), o));
  for (let i = 0; i < 200 && appended.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(acknowledged, false, 'not acknowledged before the journal event is durable');
  durable();
  const outcome = await answer;
  assert.equal(outcome.type, 'approved');
  const persisted = outcome.type === 'approved' ? outcome.persisted : null;
  assert.ok(persisted);
  assert.deepEqual(appended, [
    {
      kind: 'policy.approved',
      actor: 'operator',
      runId: 'run-7',
      payload: {
        approvalId: 'A1',
        runId: 'run-7',
        approvedBy: 'ann',
        tool: 'fs.write',
        policyId: 'approved.A1',
        file: 'approved-A1.cedar',
        sha256: persisted.sha256,
        policySetHash: store.current.hash,
      },
    },
  ]);
});
