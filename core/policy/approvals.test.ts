import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { ApprovalRegistry, type Timers } from './approvals.ts';
import { checkPolicies } from './check.ts';
import { decideToolCall, type ToolCallDecision } from './decide.ts';
import { readPolicyDir } from './policy-files.ts';
import { PolicyStore, type PersistedPolicy } from './policy-store.ts';
import { toolCallRequest, type ToolCallRequest } from './request.ts';

const T0 = Date.UTC(2025, 4, 1, 12, 0, 0);

/** A clock and timers that move only when the test says so. */
function fakeTime() {
  let now = T0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 0;
  const port: Timers = {
    setTimeout: (fn, ms) => {
      timers.set(++next, { at: now + ms, fn });
      return next;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
  };
  return {
    clock: { now: () => now },
    timers: port,
    /** Moves time on, firing due timers unless `fire` is false (a late timer). */
    advance(ms: number, fire = true) {
      now += ms;
      if (!fire) return;
      for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at > now) continue;
        timers.delete(id);
        t.fn();
      }
    },
    armed: () => timers.size,
  };
}

const ids = () => {
  let n = 0;
  return () => `A${++n}`;
};

async function setup(persist = true) {
  const time = fakeTime();
  const store = await PolicyStore.open(join(tempDir(), 'policies'));
  const registry = new ApprovalRegistry({
    clock: time.clock,
    timers: time.timers,
    newId: ids(),
    ...(persist ? { persistAlways: (p) => store.persistPolicy(p) } : {}),
  });
  return { time, store, registry };
}

const sessionCall = (args: Record<string, string> = { path: 'notes.md', content: 'hi "there"\n' }): ToolCallRequest =>
  toolCallRequest({ tool: { name: 'fs.write' }, principal: { type: 'Session', id: 's1', agent: 'main' }, args, channel: 'tg', sender: 'tg:7' });

test('a pending approval times out to a deny after 5 minutes', async () => {
  const { time, store, registry } = await setup();
  const call = sessionCall();
  const { approval, outcome } = registry.open(call, decideToolCall(call, store.current));
  assert.deepEqual([approval.id, approval.scopes, approval.createdAt, approval.expiresAt], ['A1', ['once', 'session', 'always'], T0, T0 + 300_000]);
  time.advance(299_999);
  assert.deepEqual(registry.pending().map((a) => a.id), ['A1']);
  time.advance(1);
  assert.deepEqual(await outcome, { type: 'expired', approval, at: T0 + 300_000 });
  assert.deepEqual([registry.pending(), time.armed()], [[], 0]);
  await assert.rejects(registry.resolve('A1', { type: 'approve', scope: 'once', by: 'ann' }), { code: 'PALYRA_APPROVAL_NOT_FOUND' });
});

test('an answer after the deadline is refused even when the timer is late', async () => {
  const { time, store, registry } = await setup();
  const call = sessionCall();
  const { outcome } = registry.open(call, decideToolCall(call, store.current));
  time.advance(300_000, false);
  await assert.rejects(registry.resolve('A1', { type: 'approve', scope: 'once', by: 'ann' }), { code: 'PALYRA_APPROVAL_EXPIRED' });
  assert.equal((await outcome).type, 'expired');
});

test('once approves this call only; deny says who and why', async () => {
  const { time, store, registry } = await setup();
  const call = sessionCall();
  const first = registry.open(call, decideToolCall(call, store.current));
  const approved = await registry.resolve(first.approval.id, { type: 'approve', scope: 'once', by: 'ann' });
  assert.deepEqual(await first.outcome, approved);
  assert.deepEqual(approved, { type: 'approved', approval: first.approval, scope: 'once', by: 'ann', at: T0, request: { ...call, approval: 'approved' }, persisted: null });
  assert.equal(decideToolCall(approved.type === 'approved' ? approved.request : call, store.current).decision, 'allow');
  assert.equal(registry.approvalState(call), 'none', 'once is not remembered');
  const second = registry.open(call, decideToolCall(call, store.current));
  time.advance(10);
  assert.deepEqual(await registry.resolve(second.approval.id, { type: 'deny', by: 'ann', reason: 'Not now' }), {
    type: 'denied',
    approval: second.approval,
    by: 'ann',
    reason: 'Not now',
    at: T0 + 10,
  });
  assert.equal(time.armed(), 0, 'settled approvals leave no timer behind');
});

test('session approvals are remembered per session and tool until the session is forgotten', async () => {
  const { store, registry } = await setup(false);
  const call = sessionCall();
  const { approval } = registry.open(call, decideToolCall(call, store.current));
  assert.deepEqual(approval.scopes, ['once', 'session'], 'always is offered only when it can be persisted');
  await assert.rejects(registry.resolve(approval.id, { type: 'approve', scope: 'always', by: 'ann' }), { code: 'PALYRA_INVALID_ARGUMENT' });
  await registry.resolve(approval.id, { type: 'approve', scope: 'session', by: 'ann' });
  const later = sessionCall({ path: 'other.md', content: '' });
  assert.equal(registry.approvalState(later), 'approved');
  assert.equal(decideToolCall({ ...later, approval: registry.approvalState(later) }, store.current).decision, 'allow');
  assert.equal(registry.approvalState({ ...later, principal: { type: 'Session', id: 's2', agent: 'main' } }), 'none');
  assert.equal(registry.approvalState({ ...later, tool: { name: 'http.fetch', capabilities: ['network'], risk: 'medium' } }), 'none');
  // The same name declared again with more power (a worker that reconnected) is not covered; with less, it is.
  assert.equal(registry.approvalState({ ...later, tool: { name: 'fs.write', capabilities: ['fs_write', 'process'], risk: 'medium' } }), 'none');
  assert.equal(registry.approvalState({ ...later, tool: { name: 'fs.write', capabilities: ['fs_write'], risk: 'high' } }), 'none');
  assert.equal(registry.approvalState({ ...later, tool: { name: 'fs.write', capabilities: [], risk: 'low' } }), 'approved');
  registry.forgetSession('s1');
  assert.equal(registry.approvalState(later), 'none');
  const agentCall = toolCallRequest({ tool: { name: 'fs.write' } });
  assert.deepEqual(registry.open(agentCall, decideToolCall(agentCall, store.current)).approval.scopes, ['once']);
  assert.throws(() => registry.open(agentCall, { decision: 'allow', policies: [], reasons: [], policySetHash: '' }), { code: 'PALYRA_INVALID_ARGUMENT' });
});

test('always writes a readable, valid policy file, and then the same call is allowed', async () => {
  const { store, registry } = await setup();
  const call = sessionCall();
  assert.equal(decideToolCall(call, store.current).decision, 'ask');
  const { approval } = registry.open(call, decideToolCall(call, store.current));
  const outcome = await registry.resolve(approval.id, { type: 'approve', scope: 'always', by: 'ann' });
  assert.equal(outcome.type === 'approved' && outcome.persisted?.policyId, 'approved.A1');
  const path = join(store.dir, 'approved-A1.cedar');
  const text = readFileSync(path, 'utf8');
  assert.equal(
    text,
    [
      '// Approved "always" by ann at 2025-05-01T12:00:00.000Z (approval A1).',
      '// Call: tool fs.write for Session::"s1" on channel tg.',
      '// Arguments: {"content":"hi \\"there\\"\\n","path":"notes.md"}',
      `// @example allow tool=fs.write capabilities=fs_write risk=medium principal=Agent::"main" session=s1 args='{"content":"hi \\"there\\"\\n","path":"notes.md"}' owner`,
      '@id("approved.A1")',
      '@reason("Approved always by ann on 2025-05-01: tool fs.write for agent main with these exact arguments")',
      'permit (',
      '  principal in Agent::"main",',
      '  action == Action::"tool.invoke",',
      '  resource == Tool::"fs.write"',
      ')',
      'when {',
      '  ["fs_write"].containsAll(resource.capabilities) &&',
      '  context.senderIsOwner &&',
      '  context.argsJson == "{\\"content\\":\\"hi \\\\\\"there\\\\\\"\\\\n\\",\\"path\\":\\"notes.md\\"}"',
      '};',
      '',
    ].join('\n'),
  );
  const same = decideToolCall(call, store.current);
  assert.deepEqual([same.decision, same.policies], ['allow', ['approved.A1']]);
  const otherSession = { ...call, principal: { type: 'Session', id: 's2', agent: 'main' } } as const;
  assert.equal(decideToolCall(otherSession, store.current).decision, 'allow', 'always covers the agent\'s other sessions');
  assert.equal(decideToolCall(sessionCall({ path: 'notes.md', content: 'other' }), store.current).decision, 'ask', 'other arguments still ask');
  assert.equal(decideToolCall({ ...call, senderIsOwner: false }, store.current).decision, 'ask', 'an owner\'s approval does not extend to strangers');
  const check = await checkPolicies(readPolicyDir(store.dir));
  assert.deepEqual([check.ok, check.problems, check.policies], [true, [], 5]);
  const reopened = await PolicyStore.open(store.dir);
  assert.equal(reopened.current.hash, store.current.hash);
});

test('always without binding arguments, and arguments too long to read are matched by hash', async () => {
  const { store, registry } = await setup();
  const anyArgs = toolCallRequest({ tool: { name: 'http.fetch' }, principal: { type: 'Operator', id: 'ops' }, args: { url: 'https://a.example/' } });
  const a = registry.open(anyArgs, decideToolCall(anyArgs, store.current));
  await registry.resolve(a.approval.id, { type: 'approve', scope: 'always', by: 'ann', bindArgs: false });
  assert.equal(decideToolCall({ ...anyArgs, args: { url: 'https://b.example/' } }, store.current).decision, 'allow');
  assert.equal(decideToolCall({ ...anyArgs, principal: { type: 'Operator', id: 'eve' } }, store.current).decision, 'ask');
  const big = toolCallRequest({ tool: { name: 'fs.write' }, args: { path: 'big.txt', content: `x'é\u2028${'y'.repeat(500)}` } });
  const b = registry.open(big, decideToolCall(big, store.current));
  const outcome = await registry.resolve(b.approval.id, { type: 'approve', scope: 'always', by: 'ann' });
  assert.match(outcome.type === 'approved' ? (outcome.persisted?.text ?? '') : '', /context\.argsSha256 == "[0-9a-f]{64}"/);
  assert.equal(decideToolCall(big, store.current).decision, 'allow');
  assert.equal(decideToolCall({ ...big, args: { ...big.args, content: 'z' } }, store.current).decision, 'ask');
});

test('a failed always leaves the approval pending, and it still expires', async () => {
  const { time, store, registry } = await setup();
  const call = sessionCall();
  const { approval, outcome } = registry.open(call, decideToolCall(call, store.current));
  // The policy folder cannot take the file: a file stands where the folder should be.
  writeFileSync(store.dir, 'not a folder');
  await assert.rejects(registry.resolve(approval.id, { type: 'approve', scope: 'always', by: 'ann' }), { code: 'PALYRA_IO' });
  assert.deepEqual(registry.pending().map((a) => a.id), [approval.id]);
  time.advance(300_000);
  assert.equal((await outcome).type, 'expired');
});

test('a withdrawn approval grants nothing: it leaves the pending list, its timer is cleared, and a late answer is refused', async () => {
  const { time, store, registry } = await setup();
  const call = sessionCall();
  const { approval, outcome } = registry.open(call, decideToolCall(call, store.current));
  time.advance(5);
  registry.withdraw(approval.id);
  assert.deepEqual(await outcome, { type: 'withdrawn', approval, at: T0 + 5 });
  assert.deepEqual(registry.pending(), []);
  assert.equal(time.armed(), 0);
  for (const scope of ['once', 'session', 'always'] as const) {
    await assert.rejects(registry.resolve(approval.id, { type: 'approve', scope, by: 'ann' }), {
      code: 'PALYRA_APPROVAL_NOT_FOUND',
      message: `Approval "${approval.id}" is not pending: it is unknown, already answered, expired, or withdrawn because its run ended`,
    });
  }
  assert.equal(registry.approvalState(call), 'none', 'no session grant');
  assert.deepEqual(readPolicyDir(store.dir), [], 'no always policy');
  registry.withdraw(approval.id);
  registry.withdraw('unknown');
});

/** A registry whose `always` writes wait for the test to settle them. */
function heldWrites() {
  const time = fakeTime();
  const writes: { resolve: (p: PersistedPolicy) => void; reject: (e: Error) => void }[] = [];
  const registry = new ApprovalRegistry({
    clock: time.clock,
    timers: time.timers,
    newId: ids(),
    persistAlways: () => new Promise<PersistedPolicy>((resolve, reject) => writes.push({ resolve, reject })),
  });
  return { time, registry, writes };
}

const askAll: ToolCallDecision = { decision: 'ask', policies: [], reasons: [], policySetHash: 'h' };

test('withdrawn while an always policy is written: a failed write settles it withdrawn and grants nothing later', async () => {
  const { time, registry, writes } = heldWrites();
  const call = sessionCall();
  const { approval, outcome } = registry.open(call, askAll);
  const answer = registry.resolve(approval.id, { type: 'approve', scope: 'always', by: 'ann' });
  time.advance(5);
  registry.withdraw(approval.id);
  assert.deepEqual(registry.pending().map((a) => a.id), [approval.id], 'the write is still in flight');
  writes[0]!.reject(new Error('disk full'));
  await assert.rejects(answer, { message: 'disk full' });
  assert.deepEqual(registry.pending(), []);
  assert.equal(time.armed(), 0);
  assert.deepEqual(await outcome, { type: 'withdrawn', approval, at: T0 + 5 });
  await assert.rejects(registry.resolve(approval.id, { type: 'approve', scope: 'session', by: 'ann' }), { code: 'PALYRA_APPROVAL_NOT_FOUND' });
  assert.equal(registry.approvalState(call), 'none');
});

test('withdrawn while an always policy is written: a successful write stands', async () => {
  const { time, registry, writes } = heldWrites();
  const call = sessionCall();
  const { approval, outcome } = registry.open(call, askAll);
  const answer = registry.resolve(approval.id, { type: 'approve', scope: 'always', by: 'ann' });
  time.advance(5);
  registry.withdraw(approval.id);
  const persisted: PersistedPolicy = { policyId: 'approved-A1', path: 'approved-A1.cedar', sha256: 'ab', text: 'permit', policySetHash: 'h2' };
  writes[0]!.resolve(persisted);
  const expected = { type: 'approved', approval, scope: 'always', by: 'ann', at: T0, request: { ...call, approval: 'approved' }, persisted } as const;
  assert.deepEqual(await answer, expected);
  assert.deepEqual(await outcome, expected);
  assert.deepEqual(registry.pending(), []);
});

test('close waits for an always policy being written, so its journal record is not cut off', async () => {
  const { registry, writes } = heldWrites();
  const { approval } = registry.open(sessionCall(), askAll);
  const answer = registry.resolve(approval.id, { type: 'approve', scope: 'always', by: 'ann' });
  let closed = false;
  const closing = registry.close().then(() => (closed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false, 'close waits for the write');
  writes[0]!.resolve({ policyId: 'approved-A1', path: 'approved-A1.cedar', sha256: 'ab', text: 'permit', policySetHash: 'h2' });
  await closing;
  assert.equal((await answer).type, 'approved');
  assert.deepEqual(registry.pending(), []);
});

test('while an always policy is written, no second answer is taken, and a withdraw outranks a later deadline', async () => {
  const { time, registry, writes } = heldWrites();
  const call = sessionCall();
  const { approval, outcome } = registry.open(call, askAll);
  const answer = registry.resolve(approval.id, { type: 'approve', scope: 'always', by: 'ann' });
  for (const second of [{ type: 'approve', scope: 'session', by: 'bob' }, { type: 'approve', scope: 'once', by: 'bob' }, { type: 'deny', by: 'bob' }] as const) {
    await assert.rejects(registry.resolve(approval.id, second), { code: 'PALYRA_APPROVAL_NOT_FOUND' }, JSON.stringify(second));
  }
  assert.equal(registry.approvalState(call), 'none', 'no session grant from a second answer');
  time.advance(5);
  registry.withdraw(approval.id);
  time.advance(300_000);
  writes[0]!.reject(new Error('disk full'));
  await assert.rejects(answer, { message: 'disk full' });
  assert.deepEqual(await outcome, { type: 'withdrawn', approval, at: T0 + 300_005 });
  assert.equal(writes.length, 1, 'one write only');
});

test('close expires every pending approval: each waiting call gets its deny', async () => {
  const { time, store, registry } = await setup();
  const first = registry.open(sessionCall(), askAll);
  const second = registry.open(sessionCall({ path: 'b.md', content: 'b' }), askAll);
  time.advance(7, false);
  await registry.close();
  assert.deepEqual(await first.outcome, { type: 'expired', approval: first.approval, at: T0 + 7 });
  assert.deepEqual(await second.outcome, { type: 'expired', approval: second.approval, at: T0 + 7 });
  assert.deepEqual(registry.pending(), []);
  assert.equal(time.armed(), 0);
  await assert.rejects(registry.resolve(first.approval.id, { type: 'approve', scope: 'session', by: 'ann' }), { code: 'PALYRA_APPROVAL_NOT_FOUND' });
  assert.deepEqual(readPolicyDir(store.dir), []);
});
