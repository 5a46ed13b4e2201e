// Queue modes, the global run cap, idempotency per session and crash recovery order of
// GatewayRuntimeState: what a session's queue promises beyond gateway-runtime.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { JournalStore, readRecords } from '../journal/index.ts';
import { ApprovalRegistry, builtinPolicySet } from '../policy/index.ts';
import { createScriptedProvider, parseScript } from '../providers/index.ts';
import { createEchoTool, createSleepTool, ToolRegistry } from '../tools/index.ts';
import { GatewayRuntimeState, type GatewayDeps, type RunView } from './index.ts';

/** "nap…" sleeps `napMs` then answers "slept"; anything else is answered at once with its text. */
async function setup(napMs = 30_000) {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'tool' }, text: 'slept' },
      { when: { lastMessageRole: 'user', lastUserStartsWith: 'nap' }, toolCalls: [{ name: 'sleep', arguments: { ms: napMs } }] },
      { when: {}, text: 'answered {{lastUser}}' },
    ],
  });
  const { store, root, options } = await freshJournal();
  const workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const tools = new ToolRegistry();
  tools.register(createEchoTool());
  tools.register(createSleepTool());
  const set = await builtinPolicySet();
  const approvals = new ApprovalRegistry({ clock: { now: () => Date.now() } });
  const deps: GatewayDeps = { journal: store, provider: createScriptedProvider(script), model: 'scripted', tools, stateDir: root, defaultWorkspace: workspace, policies: () => set, approvals };
  return { store, deps, options };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), what);
}

/** The run's end, or a failure after `ms` (a mutation that never ends the run fails fast, not at the net). */
function ended(gateway: GatewayRuntimeState, runId: string, ms = 5000): Promise<RunView> {
  return Promise.race([gateway.waitFor(runId), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`run ${runId} did not end within ${ms} ms`)), ms).unref())]);
}

/** Run ids in the order their `run.started` records were written. */
function startOrder(dir: string): string[] {
  return [...readRecords(join(dir, 'segments'))].filter((l) => l.record.kind === 'run.started').map((l) => l.record.runId as string);
}

test('an idempotency key dedupes within its session only: the same key in another session is a new message', async () => {
  const { store, deps } = await setup();
  const gateway = GatewayRuntimeState.open(deps);
  const a = (await gateway.sessions.create({})).session;
  const b = (await gateway.sessions.create({})).session;
  const first = await gateway.admit(a.id, { text: 'hello', idempotencyKey: 'shared' });
  const other = await gateway.admit(b.id, { text: 'hello', idempotencyKey: 'shared' });
  assert.deepEqual([other.duplicate, other.sessionId], [false, b.id]);
  assert.notEqual(other.runId, first.runId);
  assert.equal((await ended(gateway, other.runId)).finalText, 'answered hello');
  assert.deepEqual(await gateway.admit(a.id, { text: 'hello', idempotencyKey: 'shared' }), { ...first, duplicate: true });
  await gateway.stop();
  await store.close();
});

test('queue modes: followup runs each message on its own; collect joins the waiting run however late; a command is never merged, in any mode', async () => {
  const { store, deps } = await setup(300);
  let now = 1_000_000;
  const gateway = GatewayRuntimeState.open({ ...deps, clock: { now: () => now }, coalesceDebounceMs: 500 });
  const { session } = await gateway.sessions.create({});
  const busy = await gateway.admit(session.id, { text: 'nap' });
  const f1 = await gateway.admit(session.id, { text: 'f1', mode: 'followup' });
  now += 10;
  const f2 = await gateway.admit(session.id, { text: 'f2', mode: 'followup' });
  assert.notEqual(f2.runId, f1.runId, 'followup never merges');
  now += 10_000;
  const c = await gateway.admit(session.id, { text: 'c', mode: 'collect' });
  assert.equal(c.runId, f2.runId, 'collect joins the waiting run past the debounce period');
  now += 10_000;
  const command = await gateway.admit(session.id, { text: '/status' });
  now += 10;
  const after = await gateway.admit(session.id, { text: 'right after' });
  assert.notEqual(after.runId, command.runId, 'a message does not join a waiting command');
  const collectedCommand = await gateway.admit(session.id, { text: '/help', mode: 'collect' });
  assert.notEqual(collectedCommand.runId, after.runId, 'collect does not merge a command into the waiting run');
  const intoCommand = await gateway.admit(session.id, { text: 'not an argument', mode: 'collect' });
  assert.notEqual(intoCommand.runId, collectedCommand.runId, 'nor text into a waiting command');
  now += 501;
  const late = await gateway.admit(session.id, { text: 'late' });
  assert.notEqual(late.runId, after.runId, 'past the debounce period a message waits as its own run');
  now += 500;
  const burst = await gateway.admit(session.id, { text: 'burst' });
  assert.equal(burst.runId, late.runId, 'within it, it joins the waiting run');
  const views = await Promise.all([busy, f1, f2, command, after, collectedCommand, intoCommand, late].map((a) => ended(gateway, a.runId)));
  assert.deepEqual(
    views.map((v) => [v.state, v.messageIds.length]),
    [['completed', 1], ['completed', 1], ['completed', 2], ['completed', 1], ['completed', 1], ['completed', 1], ['completed', 1], ['completed', 2]],
  );
  await gateway.stop();
  await store.close();
});

test('interrupt: the going run is cancelled and the message runs next, before messages queued earlier', async () => {
  const { store, deps, options } = await setup();
  const gateway = GatewayRuntimeState.open(deps);
  const { session } = await gateway.sessions.create({});
  const going = await gateway.admit(session.id, { text: 'nap' });
  await until(() => gateway.run(going.runId).state === 'running', 'the first run is going');
  const queued = await gateway.admit(session.id, { text: 'queued earlier', mode: 'followup' });
  const urgent = await gateway.admit(session.id, { text: 'urgent', mode: 'interrupt' });
  const cut = await ended(gateway, going.runId);
  assert.deepEqual([cut.state, cut.reason], ['cancelled', 'interrupted by a newer message']);
  assert.equal((await ended(gateway, urgent.runId)).finalText, 'answered urgent');
  assert.equal((await ended(gateway, queued.runId)).finalText, 'answered queued earlier');
  await gateway.stop();
  await store.close();
  assert.deepEqual(startOrder(options.dir), [going.runId, urgent.runId, queued.runId]);
});

test('the global cap: no more than maxConcurrentRuns runs go at once; the next starts when one ends', async () => {
  const { store, deps } = await setup(400);
  const gateway = GatewayRuntimeState.open({ ...deps, maxConcurrentRuns: 2 });
  const sessions = await Promise.all([0, 1, 2].map(async () => (await gateway.sessions.create({})).session));
  const admitted = [];
  for (const s of sessions) admitted.push(await gateway.admit(s.id, { text: 'nap' }));
  const [a, b, c] = admitted.map((x) => x.runId) as [string, string, string];
  await until(() => gateway.run(a).state === 'running' && gateway.run(b).state === 'running', 'two runs go');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(gateway.run(c).state, 'queued', 'the third waits for a slot');
  assert.equal(gateway.stats().activeRuns, 2);
  const third = await ended(gateway, c);
  assert.equal(third.state, 'completed');
  assert.ok((third.finishedAt as number) >= (gateway.run(a).finishedAt as number), 'it ran after a slot was freed');
  await gateway.stop();
  await store.close();
});

test('after a crash, every admitted message that had no run is run exactly once, in the order admitted', async () => {
  const { store, deps, options } = await setup();
  const gateway = GatewayRuntimeState.open(deps);
  const { session } = await gateway.sessions.create({});
  const going = await gateway.admit(session.id, { text: 'nap' });
  const waiting = [];
  for (const text of ['w1', 'w2', 'w3']) waiting.push(await gateway.admit(session.id, { text, mode: 'followup' }));
  await until(() => gateway.run(going.runId).state === 'running', 'the first run is going');
  await store.close(); // "crash"

  const reopened = await JournalStore.open(options);
  const startedBefore = startOrder(options.dir).length;
  const after = GatewayRuntimeState.open({ ...deps, journal: reopened });
  const ids = waiting.map((w) => w.runId);
  assert.deepEqual(await after.recover(), { interrupted: [going.runId], requeued: ids });
  const views = await Promise.all(ids.map((id) => ended(after, id)));
  assert.deepEqual(views.map((v) => v.finalText), ['answered w1', 'answered w2', 'answered w3']);
  await after.stop();
  await reopened.close();
  assert.deepEqual(startOrder(options.dir).slice(startedBefore), ids, 'each started once, in order');
  await gateway.stop(); // the "crashed" gateway's sleeping run, still in memory
});

test('after a crash, a message admitted before its session was archived still runs, as it would have without the crash', async () => {
  const { store, deps, options } = await setup();
  const gateway = GatewayRuntimeState.open(deps);
  const { session } = await gateway.sessions.create({});
  const going = await gateway.admit(session.id, { text: 'nap' });
  const retried = { text: 'left behind', mode: 'followup', idempotencyKey: 'left-1' };
  const left = await gateway.admit(session.id, retried);
  await until(() => gateway.run(going.runId).state === 'running', 'the first run is going');
  await gateway.sessions.archive(session.id);
  await assert.rejects(gateway.admit(session.id, { text: 'more' }), { code: 'PALYRA_CONFLICT', message: `Session "${session.id}" is archived` });
  assert.deepEqual(await gateway.admit(session.id, retried), { ...left, duplicate: true }, 'a retry of a message admitted before the archive gets its admission');
  await store.close(); // "crash"

  const reopened = await JournalStore.open(options);
  const startedBefore = startOrder(options.dir).length;
  const after = GatewayRuntimeState.open({ ...deps, journal: reopened });
  assert.deepEqual(await after.recover(), { interrupted: [going.runId], requeued: [left.runId] });
  assert.equal((await ended(after, left.runId)).finalText, 'answered left behind');
  // The archived session still takes nothing new; a retry still finds its admission.
  await assert.rejects(after.admit(session.id, { text: 'more' }), { code: 'PALYRA_CONFLICT' });
  assert.deepEqual(await after.admit(session.id, retried), { ...left, duplicate: true });
  await after.stop();
  await reopened.close();
  assert.deepEqual(startOrder(options.dir).slice(startedBefore), [left.runId], 'it started once');
  await gateway.stop();
});

test('historyMessages bounds the history a run sees, the same after a restart (0: none)', async () => {
  const { store, deps, options } = await setup();
  const sent = (dir: string, runId: string) => {
    const started = [...readRecords(join(dir, 'segments'))].find((l) => l.record.kind === 'run.started' && l.record.runId === runId);
    return (JSON.parse(started?.record.payloadJson ?? '{}') as { messages: { role: string; content: string }[] }).messages.map((m) => `${m.role}: ${m.content}`);
  };
  const gateway = GatewayRuntimeState.open({ ...deps, historyMessages: 0 });
  const { session } = await gateway.sessions.create({});
  await ended(gateway, (await gateway.admit(session.id, { text: 'one' })).runId);
  const two = await gateway.admit(session.id, { text: 'two' });
  await ended(gateway, two.runId);
  await gateway.stop();
  await store.close();
  assert.deepEqual(sent(options.dir, two.runId), ['user: two']);
  for (const [keep, expected] of [[2, ['user: two', 'assistant: answered two', 'user: three']], [0, ['user: three']]] as const) {
    const reopened = await JournalStore.open(options);
    const after = GatewayRuntimeState.open({ ...deps, journal: reopened, historyMessages: keep });
    await after.recover();
    const three = await after.admit(session.id, { text: 'three' });
    await ended(after, three.runId);
    await after.stop();
    await reopened.close();
    assert.deepEqual(sent(options.dir, three.runId), expected, `historyMessages ${keep}`);
  }
});
