import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { JournalStore, readRecords } from '../journal/index.ts';
import { ApprovalRegistry, builtinPolicySet, type CompiledPolicySet } from '../policy/index.ts';
import { createScriptedProvider, DEFAULT_SCRIPT, parseScript, type ModelProvider } from '../providers/index.ts';
import { createEchoTool, createFsWriteTool, createMemoryRememberTool, createSleepTool, ToolRegistry } from '../tools/index.ts';
import { createJournalMemoryStore, GatewayRuntimeState, openJournalMemoryStore, type Admission, type GatewayDeps } from './index.ts';

async function setup(provider: ModelProvider = createScriptedProvider(DEFAULT_SCRIPT)) {
  const { store, root, options } = await freshJournal();
  const workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const tools = new ToolRegistry();
  tools.register(createEchoTool());
  tools.register(createFsWriteTool());
  tools.register(createSleepTool());
  const set: CompiledPolicySet = await builtinPolicySet();
  const approvals = new ApprovalRegistry({ clock: { now: () => Date.now() } });
  const deps: GatewayDeps = { journal: store, provider, model: 'scripted', tools, stateDir: root, defaultWorkspace: workspace, policies: () => set, approvals };
  return { gateway: GatewayRuntimeState.open(deps), store, deps, options, approvals, workspace };
}

test('a message is durable before it is acknowledged, runs the agent loop, and its duplicate is not run twice', async () => {
  const { gateway, store, options } = await setup();
  const { session } = await gateway.sessions.create({ key: 'chat-1', label: 'first chat' });
  const first = await gateway.admit('chat-1', { text: 'echo hello', idempotencyKey: 'k1' });
  assert.equal(first.duplicate, false);
  assert.ok(store.durable.seq >= 3, 'session.created and message.received are on disk');
  const again = await gateway.admit(session.id, { text: 'echo hello', idempotencyKey: 'k1' });
  assert.deepEqual(again, { ...first, duplicate: true });
  const run = await gateway.waitFor(first.runId);
  assert.equal(run.state, 'completed');
  assert.equal(run.finalText, 'The tool returned: {"text":"hello"}');
  assert.equal(gateway.listRuns().length, 1, 'the duplicate started no run');
  await store.close();
  const kinds = [...readRecords(join(options.dir, 'segments'))].filter((l) => l.record.runId === first.runId).map((l) => l.record.kind);
  assert.equal(kinds[0], 'message.received');
  assert.ok(kinds.includes('tool.decision') && kinds.at(-1) === 'run.finished', kinds.join(','));
});

test('an idempotency key reused for a different message is refused, before and after a restart, and admits nothing', async () => {
  const { gateway, store, deps, options } = await setup();
  const { session } = await gateway.sessions.create({});
  const first = await gateway.admit(session.id, { text: 'echo one', idempotencyKey: 'k' });
  await gateway.waitFor(first.runId);
  const conflict = { code: 'PALYRA_CONFLICT', message: /idempotencyKey "k" was already used in this session for a different message/ };
  await assert.rejects(gateway.admit(session.id, { text: 'echo two', idempotencyKey: 'k' }), conflict);
  await assert.rejects(gateway.admit(session.id, { text: 'echo one', mode: 'followup', idempotencyKey: 'k' }), conflict, 'another mode is another message');
  assert.deepEqual(await gateway.admit(session.id, { text: 'echo one', mode: 'coalesce', idempotencyKey: 'k' }), { ...first, duplicate: true }, 'the default mode spelled out is the same message');
  // The same key in another session is another key.
  const other = await gateway.sessions.create({});
  assert.equal((await gateway.admit(other.session.id, { text: 'echo two', idempotencyKey: 'k' })).duplicate, false);
  // A key whose message the journal redacted cannot be compared after a restart: a retry of it is taken for the same message.
  const secret = 'sk-ant-api03-' + 'A'.repeat(40);
  const redacted = await gateway.admit(session.id, { text: `echo ${secret}`, idempotencyKey: 'secret' });
  await gateway.waitFor(redacted.runId);
  assert.equal(gateway.listRuns().length, 3);
  await store.close();
  const reopened = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: reopened });
  await again.recover();
  await assert.rejects(again.admit(session.id, { text: 'echo two', idempotencyKey: 'k' }), conflict);
  assert.deepEqual(await again.admit(session.id, { text: 'echo one', idempotencyKey: 'k' }), { ...first, duplicate: true });
  assert.deepEqual(await again.admit(session.id, { text: `echo ${secret}`, idempotencyKey: 'secret' }), { ...redacted, duplicate: true });
  assert.equal(again.listRuns().length, 3, 'nothing new was admitted');
  const received = [...readRecords(join(options.dir, 'segments'))].filter((l) => l.record.kind === 'message.received');
  assert.equal(received.length, 3);
  assert.ok((received[2]?.record.redactions ?? 0) > 0, 'the journal redacted the third message');
  await reopened.close();
});

test('after a restart, sessions and idempotency keys come back from the journal', async () => {
  const { gateway, store, deps, options } = await setup();
  const { session } = await gateway.sessions.create({ key: 'chat-2' });
  const first = await gateway.admit(session.id, { text: 'hi', idempotencyKey: 'same' });
  await gateway.waitFor(first.runId);
  await gateway.sessions.archive('chat-2');
  await store.close();
  const reopened = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: reopened });
  assert.equal(again.sessions.resolve(session.id).archivedAt !== null, true);
  assert.deepEqual(again.sessions.list(), []);
  assert.deepEqual((await again.sessions.create({ key: 'chat-2' })).created, true, 'an archived key is free again');
  await assert.rejects(again.admit(session.id, { text: 'hi' }), { code: 'PALYRA_CONFLICT' });
  await reopened.close();
});

test('a call that needs approval waits, runs once approved, and the run completes', async () => {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'tool' }, text: 'done: {{lastToolResult}}' },
      { when: {}, toolCalls: [{ name: 'fs.write', arguments: { path: 'note.txt', content: 'hi' } }] },
    ],
  });
  const { gateway, approvals, store } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({});
  const { runId } = await gateway.admit(session.id, { text: 'write a note' });
  const events: string[] = [];
  gateway.events(runId).subscribe(0, (e) => events.push(e.type));
  for (let i = 0; i < 200 && approvals.pending().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  const [pending] = approvals.pending();
  assert.ok(pending, 'an approval is pending');
  assert.equal(gateway.run(runId).state, 'waiting');
  await approvals.resolve(pending.id, { type: 'approve', scope: 'once', by: 'tester' });
  const run = await gateway.waitFor(runId);
  assert.equal(run.state, 'completed', run.reason ?? '');
  assert.match(run.finalText ?? '', /^done: /);
  assert.ok(events.includes('approval_requested') && events.at(-1) === 'end', events.join(','));
  await store.close();
});

test('messages to a busy session wait their turn; cancel ends a going run and a queued one', async () => {
  const script = parseScript({ version: 1, turns: [{ when: { lastMessageRole: 'tool' }, text: 'slept' }, { when: {}, toolCalls: [{ name: 'sleep', arguments: { ms: 5000 } }] }] });
  const { gateway, store } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({});
  const a = await gateway.admit(session.id, { text: 'one' });
  const b = await gateway.admit(session.id, { text: 'two' });
  assert.equal(gateway.run(b.runId).state, 'queued');
  await gateway.cancel(b.runId);
  assert.equal((await gateway.waitFor(b.runId)).state, 'cancelled');
  await gateway.cancel(a.runId);
  const ended = await gateway.waitFor(a.runId);
  assert.equal(ended.state, 'cancelled');
  assert.equal(ended.reason, 'cancelled by request');
  await store.close();
});

test('bad messages are refused with a clear error and admit nothing', async () => {
  const { gateway, store } = await setup();
  const { session } = await gateway.sessions.create({});
  const before = store.durable.seq;
  await assert.rejects(gateway.admit(session.id, { text: '' }), { code: 'PALYRA_INVALID_ARGUMENT' });
  await assert.rejects(gateway.admit(session.id, { text: 'x', mode: 'sideways' }), { code: 'PALYRA_INVALID_ARGUMENT' });
  await assert.rejects(gateway.admit('no-such-session', { text: 'x' }), { code: 'PALYRA_NOT_FOUND' });
  await assert.rejects(gateway.sessions.create({ key: 'has space' }), { code: 'PALYRA_INVALID_ARGUMENT' });
  assert.equal(store.durable.seq, before);
  await store.close();
});

test('after a crash, a run that was going ends interrupted and an admitted message that had no run yet is run', async () => {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'tool' }, text: 'slept' },
      { when: { lastMessageRole: 'user', lastUserStartsWith: 'nap' }, toolCalls: [{ name: 'sleep', arguments: { ms: 30000 } }] },
      { when: {}, text: 'answered {{lastUserRest}}' },
    ],
  });
  const { gateway, store, deps, options } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({ key: 'crashy' });
  const first = await gateway.admit(session.id, { text: 'nap please' });
  const second = await gateway.admit(session.id, { text: 'then this' });
  for (let i = 0; i < 200 && gateway.run(first.runId).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(gateway.run(first.runId).state, 'running');
  assert.equal(gateway.run(second.runId).state, 'queued');
  // "Crash": the journal goes away under the gateway; nothing more of these runs is written.
  await store.close();

  const reopened = await JournalStore.open(options);
  const after = GatewayRuntimeState.open({ ...deps, journal: reopened });
  const recovered = await after.recover();
  assert.deepEqual(recovered, { interrupted: [first.runId], requeued: [second.runId] });
  assert.deepEqual([after.run(first.runId).state, after.run(first.runId).reason], ['failed', 'interrupted: the daemon stopped while the run was going']);
  const rerun = await after.waitFor(second.runId);
  assert.equal(rerun.state, 'completed', rerun.reason ?? '');
  assert.deepEqual(await after.recover(), { interrupted: [], requeued: [] }, 'recovery runs once');
  await after.stop();
  await reopened.close();
  const kinds = [...readRecords(join(options.dir, 'segments'))].filter((l) => l.record.runId === first.runId).map((l) => l.record.kind);
  assert.equal(kinds.at(-1), 'run.interrupted');
  const third = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: third });
  assert.deepEqual(await again.recover(), { interrupted: [], requeued: [] }, 'a second restart finds nothing left to do');
  await third.close();
  await gateway.stop(); // the "crashed" gateway's sleeping run, still in memory
});

test('ended runs beyond the bound are forgotten in memory (their tapes stay in the journal)', async () => {
  const { store, deps } = await setup();
  const gateway = GatewayRuntimeState.open({ ...deps, keepEndedRuns: 2 });
  const { session } = await gateway.sessions.create({});
  const ids: string[] = [];
  for (const text of ['one', 'two', 'three']) {
    const { runId } = await gateway.admit(session.id, { text });
    await gateway.waitFor(runId);
    ids.push(runId);
  }
  assert.throws(() => gateway.run(ids[0] as string), { code: 'PALYRA_NOT_FOUND' });
  assert.deepEqual(gateway.listRuns().map((r) => r.runId), [ids[2], ids[1]]);
  await store.close();
});

test('idempotency keys beyond the bound are forgotten, oldest first, also when rebuilt from the journal', async () => {
  const { store, deps, options } = await setup();
  const gateway = GatewayRuntimeState.open({ ...deps, keepIdempotencyKeys: 2 });
  const { session } = await gateway.sessions.create({});
  const first: Record<string, string> = {};
  for (const key of ['k1', 'k2', 'k3']) {
    const a = await gateway.admit(session.id, { text: `echo ${key}`, idempotencyKey: key });
    first[key] = a.runId;
    await gateway.waitFor(a.runId);
  }
  const k3 = await gateway.admit(session.id, { text: 'echo k3', idempotencyKey: 'k3' });
  assert.deepEqual([k3.duplicate, k3.runId], [true, first.k3], 'a recent key still dedupes');
  const k1 = await gateway.admit(session.id, { text: 'echo k1', idempotencyKey: 'k1' });
  assert.equal(k1.duplicate, false, 'the oldest key was forgotten: its retry is admitted again');
  assert.notEqual(k1.runId, first.k1);
  await gateway.waitFor(k1.runId);
  await gateway.stop();
  await store.close();
  // Rebuilt from the journal under the same bound: the newest two keys (k3, then k1 again) are known.
  const reopened = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: reopened, keepIdempotencyKeys: 2 });
  assert.equal((await again.admit(session.id, { text: 'echo k1', idempotencyKey: 'k1' })).duplicate, true);
  assert.equal((await again.admit(session.id, { text: 'echo k2', idempotencyKey: 'k2' })).duplicate, false);
  await again.stop();
  await reopened.close();
});

test('a burst of messages to a busy session becomes one run; commands get their own; past the cap the rest are summarized', async () => {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'tool' }, text: 'slept' },
      // Long enough that the whole burst is admitted while it sleeps, even on a loaded machine.
      { when: { lastMessageRole: 'user', lastUserStartsWith: 'nap' }, toolCalls: [{ name: 'sleep', arguments: { ms: 1500 } }] },
      { when: {}, text: 'got it' },
    ],
  });
  const { store, deps } = await setup(createScriptedProvider(script));
  let now = 1_000_000;
  const gateway = GatewayRuntimeState.open({ ...deps, clock: { now: () => now }, maxPendingPerConversation: 3, coalesceDebounceMs: 500 });
  const { session } = await gateway.sessions.create({});
  const busy = await gateway.admit(session.id, { text: 'nap first' });
  const burst: Admission[] = [];
  for (const text of ['b1', 'b2', 'b3', 'b4']) {
    burst.push(await gateway.admit(session.id, { text }));
    now += 100; // within the debounce period of the previous one
  }
  const command = await gateway.admit(session.id, { text: '/status' });
  now += 1000;
  const late = await gateway.admit(session.id, { text: 'much later' });
  assert.equal(new Set(burst.map((a) => a.runId)).size, 1, 'the burst shares one run');
  assert.notEqual(burst[0]?.runId, busy.runId);
  assert.notEqual(command.runId, burst[0]?.runId, 'a command is not coalesced');
  assert.notEqual(late.runId, command.runId, 'past the debounce period a message gets its own run');
  const grouped = await gateway.waitFor(burst[0]?.runId as string);
  assert.equal(grouped.messageIds.length, 4);
  await gateway.waitFor(late.runId);
  await gateway.stop();
  await store.close();
  const started = [...readRecords(join(deps.journal.paths.dir, 'segments'))].find((l) => l.record.kind === 'run.started' && l.record.runId === burst[0]?.runId);
  const messages = (JSON.parse(started?.record.payloadJson ?? '{}') as { messages: { content: string }[] }).messages;
  assert.equal(messages.at(-1)?.content, 'b1\n\nb2\n\n[2 more messages arrived meanwhile, summarized:]\n- b3\n- b4');
});

test('a run is never shown ended before its final text is set (the state event arrives first)', async () => {
  const { gateway, store } = await setup();
  const { session } = await gateway.sessions.create({ key: 'race' });
  const admitted = await gateway.admit(session.id, { text: 'echo hi' });
  const seen: { state: string; finalText: string | null }[] = [];
  gateway.events(admitted.runId).subscribe(0, (event) => {
    const view = gateway.run(admitted.runId);
    seen.push({ state: view.state, finalText: view.finalText });
  });
  const run = await gateway.waitFor(admitted.runId);
  assert.equal(run.state, 'completed');
  assert.ok(seen.length > 3, 'events were observed while the run went');
  for (const s of seen) if (s.state === 'completed') assert.notEqual(s.finalText, null, 'completed is shown only with its answer');
  assert.ok(seen.some((s) => s.state !== 'completed'), 'the run was seen going before it ended');
  await store.close();
});

test('an interrupted run is resumed from its tape: recorded results are fed back, nothing is run twice, and only once', async () => {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'tool' }, text: 'resumed with {{lastToolResult}}' },
      { when: {}, toolCalls: [{ name: 'echo', arguments: { text: 'kept' } }, { name: 'sleep', arguments: { ms: 30000 } }] },
    ],
  });
  const { gateway, store, deps, options } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({ key: 'resumable' });
  const { runId } = await gateway.admit(session.id, { text: 'go' });
  const echoed = new Promise<void>((resolve) => gateway.events(runId).subscribe(0, (e) => (e.type === 'tool_call_finished' && (e.data as { tool: string }).tool === 'echo' ? resolve() : undefined)));
  await echoed;
  await new Promise((r) => setTimeout(r, 100)); // the echo's result reaches the journal; the sleep's never does
  await store.close(); // "crash"

  const reopened = await JournalStore.open(options);
  const after = GatewayRuntimeState.open({ ...deps, journal: reopened });
  assert.deepEqual((await after.recover()).interrupted, [runId]);
  const resumed = await after.resume(runId);
  assert.deepEqual([resumed.resumedFrom, resumed.reused, resumed.notRepeated.map((c) => c.tool)], [runId, 1, ['sleep']]);
  const run = await after.waitFor(resumed.runId);
  assert.equal(run.state, 'completed', run.reason ?? '');
  assert.equal(run.resumedFrom, runId);
  assert.match(run.finalText ?? '', /^resumed with PALYRA_TOOL_INTERRUPTED: /, 'the model was told the sleep was not run again');
  await assert.rejects(after.resume(runId), { code: 'PALYRA_CONFLICT', message: new RegExp(`resumed already, as run "${resumed.runId}"`) });
  await assert.rejects(after.resume(resumed.runId), { code: 'PALYRA_CONFLICT', message: /only a run a stop of the daemon cut off/ });
  await reopened.close();

  const records = [...readRecords(join(options.dir, 'segments'))].map((l) => l.record);
  const newTape = records.filter((r) => r.runId === resumed.runId);
  assert.ok(!newTape.some((r) => r.kind === 'tool.proposed' || r.kind === 'tool.result'), 'the resumed run ran no tool');
  const started = JSON.parse(newTape.find((r) => r.kind === 'run.started')?.payloadJson ?? '{}') as { messages: { role: string; content: string }[] };
  assert.deepEqual(started.messages.map((m) => m.role), ['user', 'assistant', 'tool', 'tool']);
  assert.equal(started.messages[2]?.content, '{"text":"kept"}', 'the recorded echo result is fed back as it was');

  const third = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: third });
  await again.recover();
  await assert.rejects(again.resume(runId), { code: 'PALYRA_CONFLICT' }, 'a resume is remembered across restarts');
  await third.close();
  await gateway.stop();
});

test('a resumed run does not get fresh budgets: what the interrupted run used counts against its own', async () => {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'tool' }, toolCalls: [{ name: 'echo', arguments: { text: 'more' } }] },
      { when: {}, toolCalls: [{ name: 'echo', arguments: { text: 'kept' } }, { name: 'sleep', arguments: { ms: 30000 } }] },
    ],
  });
  const { gateway, store, deps, options } = await setup(createScriptedProvider(script));
  const budgeted = { ...deps, budgets: { maxToolCalls: 2 } };
  const first = GatewayRuntimeState.open({ ...budgeted, journal: store });
  const { session } = await first.sessions.create({ key: 'budgeted' });
  const { runId } = await first.admit(session.id, { text: 'go' });
  await new Promise<void>((resolve) => first.events(runId).subscribe(0, (e) => (e.type === 'tool_call_started' && (e.data as { tool: string }).tool === 'sleep' ? resolve() : undefined)));
  await new Promise((r) => setTimeout(r, 100));
  await store.close(); // "crash" with both calls of the budget used

  const reopened = await JournalStore.open(options);
  const after = GatewayRuntimeState.open({ ...budgeted, journal: reopened });
  await after.recover();
  const resumed = await after.resume(runId);
  const run = await after.waitFor(resumed.runId);
  assert.deepEqual([run.state, run.reason], ['failed', 'budget: max tool calls 2 reached'], 'the model asked for a third call');
  await reopened.close();
  const newTape = [...readRecords(join(options.dir, 'segments'))].map((l) => l.record).filter((r) => r.runId === resumed.runId);
  assert.ok(!newTape.some((r) => r.kind === 'tool.result' && JSON.parse(r.payloadJson).source === 'tool'), 'the resumed run ran no tool');
  const started = JSON.parse(newTape.find((r) => r.kind === 'run.started')?.payloadJson ?? '{}') as { carried?: { turns: number; toolCalls: number } };
  assert.deepEqual([started.carried?.turns, started.carried?.toolCalls], [1, 2]);
  await gateway.stop();
});

test('a run a clean stop cancelled says so after a restart, and is resumable', async () => {
  const script = parseScript({ version: 1, turns: [{ when: { lastMessageRole: 'tool' }, text: 'ok {{lastToolResult}}' }, { when: {}, toolCalls: [{ name: 'sleep', arguments: { ms: 30000 } }] }] });
  const { gateway, store, deps, options } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({});
  const { runId } = await gateway.admit(session.id, { text: 'nap' });
  await new Promise<void>((resolve) => gateway.events(runId).subscribe(0, (e) => (e.type === 'tool_call_started' ? resolve() : undefined)));
  await gateway.stop();
  assert.deepEqual([gateway.run(runId).state, gateway.run(runId).reason], ['cancelled', 'cancelled: the daemon stopped']);
  await store.close();

  const reopened = await JournalStore.open(options);
  const after = GatewayRuntimeState.open({ ...deps, journal: reopened });
  assert.deepEqual(await after.recover(), { interrupted: [], requeued: [] });
  assert.deepEqual([after.run(runId).state, after.run(runId).reason], ['cancelled', 'cancelled: the daemon stopped']);
  const resumed = await after.resume(runId);
  assert.deepEqual([resumed.resumedFrom, resumed.reused], [runId, 1], 'the sleep was cut off, and its result recorded');
  const run = await after.waitFor(resumed.runId);
  assert.equal(run.state, 'completed', run.reason ?? '');
  await after.stop();
  await reopened.close();
});

test('a run interrupted in an earlier start stays resumable after another restart', async () => {
  const script = parseScript({ version: 1, turns: [{ when: { lastMessageRole: 'tool' }, text: 'ok' }, { when: {}, toolCalls: [{ name: 'sleep', arguments: { ms: 30000 } }] }] });
  const { gateway, store, deps, options } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({});
  const { runId } = await gateway.admit(session.id, { text: 'nap' });
  for (let i = 0; i < 200 && gateway.run(runId).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  await store.close();
  const second = await JournalStore.open(options);
  await GatewayRuntimeState.open({ ...deps, journal: second }).recover();
  await second.close();
  const third = await JournalStore.open(options);
  const later = GatewayRuntimeState.open({ ...deps, journal: third });
  assert.deepEqual(await later.recover(), { interrupted: [], requeued: [] });
  assert.equal(later.run(runId).state, 'failed');
  const resumed = await later.resume(runId);
  assert.equal((await later.waitFor(resumed.runId)).state, 'completed');
  await third.close();
  await gateway.stop();
});

test('steer: a message sent while a tool runs joins the going run at its next model boundary and ends with it', async () => {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'user', lastUserStartsWith: 'nap' }, toolCalls: [{ name: 'sleep', arguments: { ms: 300 } }] },
      { when: { lastMessageRole: 'user', lastUserStartsWith: 'actually' }, text: 'steered:{{lastUserRest}}' },
      { when: { lastMessageRole: 'tool' }, text: 'slept, nobody steered' },
      { when: {}, text: 'plain', delayMs: 300 },
    ],
  });
  const { gateway, store, deps, options } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({ key: 'steer' });
  const a = await gateway.admit(session.id, { text: 'nap please' });
  const toolStarted = new Promise<void>((resolve) => gateway.events(a.runId).subscribe(0, (e) => (e.type === 'tool_call_started' ? resolve() : undefined)));
  await toolStarted;
  const b = await gateway.admit(session.id, { text: 'actually use y', mode: 'steer' });
  assert.notEqual(b.runId, a.runId);
  assert.equal(gateway.run(b.runId).state, 'queued', 'it waits for the boundary (never mid-tool)');
  const runA = await gateway.waitFor(a.runId);
  assert.equal(runA.finalText, 'steered: use y');
  const runB = await gateway.waitFor(b.runId);
  assert.deepEqual([runB.state, runB.steeredInto, runB.finalText], ['completed', a.runId, 'steered: use y']);
  assert.match(runB.reason ?? '', new RegExp(`^steered into run ${a.runId}`));
  assert.equal(gateway.listRuns().length, 2);

  // With no run going, or once the going run has passed its last boundary, a steer runs on its own.
  const c = await gateway.admit(session.id, { text: 'actually alone', mode: 'steer' });
  assert.equal((await gateway.waitFor(c.runId)).finalText, 'steered: alone');
  const d = await gateway.admit(session.id, { text: 'slow one' });
  for (let i = 0; i < 200 && gateway.run(d.runId).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 5));
  const e = await gateway.admit(session.id, { text: 'actually late', mode: 'steer' });
  assert.equal((await gateway.waitFor(d.runId)).finalText, 'plain', 'the going run was in its final turn');
  const late = await gateway.waitFor(e.runId);
  assert.deepEqual([late.steeredInto, late.finalText], [null, 'steered: late'], 'nothing is lost: it ran next');
  const historyOf = (g: GatewayRuntimeState) => (g as unknown as { lanes: Map<string, { history: { role: string; content: string }[] }> }).lanes.get(session.id)?.history.map((m) => `${m.role}:${m.content}`);
  const liveHistory = historyOf(gateway);
  assert.deepEqual(liveHistory?.slice(0, 3), ['user:nap please', 'user:actually use y', 'assistant:steered: use y']);
  await store.close();

  const records = [...readRecords(join(options.dir, 'segments'))].map((l) => l.record);
  const steered = records.filter((r) => r.kind === 'run.steered');
  assert.equal(steered.length, 1);
  assert.equal(steered[0]?.runId, a.runId);
  assert.ok(!records.some((r) => r.runId === b.runId && r.kind === 'run.started'), 'the steer never ran on its own');
  const reopened = await JournalStore.open(options);
  const after = GatewayRuntimeState.open({ ...deps, journal: reopened });
  assert.deepEqual(await after.recover(), { interrupted: [], requeued: [] }, 'a taken steer is not run again after a restart');
  assert.deepEqual(historyOf(after), liveHistory, 'the conversation comes back in the order the live runs left it');
  await reopened.close();
});

test('post-run learning: a completed run stores what it marked with memory.remember; a cancelled run teaches nothing', async () => {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'tool' }, text: 'noted' },
      {
        when: { lastMessageRole: 'user', lastUserStartsWith: 'learn' },
        toolCalls: [
          { name: 'memory.remember', arguments: { text: 'Deploys happen on Tuesdays', tags: ['Ops'] } },
          { name: 'memory.remember', arguments: { text: 'Deploys happen on Tuesdays' } },
        ],
      },
      { when: { lastMessageRole: 'user', lastUserStartsWith: 'forget' }, toolCalls: [{ name: 'memory.remember', arguments: { text: 'Never kept' } }, { name: 'sleep', arguments: { ms: 30000 } }] },
      { when: {}, text: 'hi' },
    ],
  });
  const { store, deps, approvals } = await setup(createScriptedProvider(script));
  const memory = openJournalMemoryStore(store);
  deps.tools.register(createMemoryRememberTool());
  const gateway = GatewayRuntimeState.open({ ...deps, memory });
  const approveAll = setInterval(() => {
    for (const p of approvals.pending()) void approvals.resolve(p.id, { type: 'approve', scope: 'once', by: 'tester' }).catch(() => undefined);
  }, 5);
  try {
    const { session } = await gateway.sessions.create({});
    const learned = await gateway.waitFor((await gateway.admit(session.id, { text: 'learn this' })).runId);
    assert.equal(learned.state, 'completed', learned.reason ?? '');
    const hits = await memory.search('deploys tuesdays', { limit: 5 });
    assert.deepEqual(hits.map((h) => [h.text, h.tags]), [['Deploys happen on Tuesdays', ['ops']]], 'stored once, with its tags');

    const { runId } = await gateway.admit(session.id, { text: 'forget it' });
    for (let i = 0; i < 400 && gateway.run(runId).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    await gateway.cancel(runId);
    assert.equal((await gateway.waitFor(runId)).state, 'cancelled');
    assert.deepEqual(await memory.search('never kept', { limit: 5 }), [], 'a cancelled run stores nothing');
  } finally {
    clearInterval(approveAll);
    await store.close();
  }
  const records = [...readRecords(join(store.paths.dir, 'segments'))].map((l) => l.record);
  const learnedEvents = records.filter((r) => r.kind === 'memory.learned').map((r) => JSON.parse(r.payloadJson) as { marks: number; stored: string[] });
  assert.deepEqual(learnedEvents.map((e) => [e.marks, e.stored.length]), [[2, 1]]);
});

test('a message the journal refuses is not admitted: its run never runs a tool, ends cancelled, and its key stays free', async () => {
  const { store, root } = await freshJournal({ maxPayloadBytes: 8192 });
  const workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const tools = new ToolRegistry();
  let echoed = 0;
  tools.register({ ...createEchoTool(), run: async (input) => (echoed++, input) });
  const approvals = new ApprovalRegistry({ clock: { now: () => Date.now() } });
  const set = await builtinPolicySet();
  const gateway = GatewayRuntimeState.open({ journal: store, provider: createScriptedProvider(DEFAULT_SCRIPT), model: 'scripted', tools, stateDir: root, defaultWorkspace: workspace, policies: () => set, approvals });
  const { session } = await gateway.sessions.create({});
  await assert.rejects(gateway.admit(session.id, { text: `echo ${'x'.repeat(9000)}`, idempotencyKey: 'big' }), { code: 'PALYRA_PAYLOAD_TOO_LARGE' });
  const [refused] = gateway.listRuns();
  assert.ok(refused, 'the run it would have had is visible, ended');
  const ended = await gateway.waitFor(refused.runId);
  assert.equal(ended.state, 'cancelled');
  assert.match(ended.reason ?? '', /could not be journaled/);
  const ok = await gateway.admit(session.id, { text: 'echo small', idempotencyKey: 'big' });
  assert.equal(ok.duplicate, false, 'the key was not taken by the refused message');
  const second = await gateway.waitFor(ok.runId);
  assert.equal(second.state, 'completed', second.reason ?? '');
  assert.equal(echoed, 1, 'only the admitted message ran its tool');
  await store.close();
});

test('a session\'s budgets tighten the daemon\'s for its runs, never loosen them, and survive a restart', async () => {
  const script = parseScript({ version: 1, turns: [{ when: { lastMessageRole: 'tool' }, text: 'done' }, { when: {}, toolCalls: [{ name: 'echo', arguments: { text: 'a' } }, { name: 'echo', arguments: { text: 'b' } }] }] });
  const { store, deps, options } = await setup(createScriptedProvider(script));
  const gateway = GatewayRuntimeState.open({ ...deps, budgets: { maxTurns: 5 } });
  const tight = (await gateway.sessions.create({ key: 'tight', budgets: { maxToolCalls: 1 } })).session;
  const loose = (await gateway.sessions.create({ key: 'loose', budgets: { maxTurns: 50 } })).session;
  assert.deepEqual(tight.budgets, { maxToolCalls: 1 });
  const limited = await gateway.waitFor((await gateway.admit(tight.id, { text: 'go' })).runId);
  assert.deepEqual([limited.state, limited.reason], ['failed', 'budget: max tool calls 1 reached']);
  const free = await gateway.waitFor((await gateway.admit(loose.id, { text: 'go' })).runId);
  assert.equal(free.state, 'completed');
  await gateway.stop();
  await store.close();
  const started = [...readRecords(join(options.dir, 'segments'))].filter((l) => l.record.kind === 'run.started').map((l) => (JSON.parse(l.record.payloadJson) as { budgets: { maxTurns: number; maxToolCalls: number } }).budgets);
  assert.deepEqual(started.map((b) => [b.maxTurns, b.maxToolCalls]), [[5, 1], [5, 32]], 'the daemon\'s 5 turns stay the ceiling');

  await assert.rejects(gateway.sessions.create({ budgets: { maxTurns: 0 } }), { code: 'PALYRA_INVALID_ARGUMENT' });
  await assert.rejects(gateway.sessions.create({ budgets: { turns: 3 } }), { code: 'PALYRA_INVALID_ARGUMENT', message: /Unknown session budget "turns"/ });
  await assert.rejects(gateway.sessions.create({ budgets: [1] }), { code: 'PALYRA_INVALID_ARGUMENT' });
  const reopened = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: reopened });
  assert.deepEqual(again.sessions.resolve('tight').budgets, { maxToolCalls: 1 });
  await reopened.close();
});

test('a run cancelled while it waits for a global slot ends, and its session goes on', async () => {
  const script = parseScript({ version: 1, turns: [{ when: { lastMessageRole: 'tool' }, text: 'slept' }, { when: { lastUserStartsWith: 'nap' }, toolCalls: [{ name: 'sleep', arguments: { ms: 3000 } }] }, { when: {}, text: 'answered {{lastUser}}' }] });
  const { gateway, store, deps } = await setup(createScriptedProvider(script));
  const one = GatewayRuntimeState.open({ ...deps, maxConcurrentRuns: 1 });
  const s1 = (await one.sessions.create({})).session;
  const s2 = (await one.sessions.create({})).session;
  const busy = await one.admit(s1.id, { text: 'nap' });
  const waiting = await one.admit(s2.id, { text: 'waits for a slot' });
  assert.equal(one.run(waiting.runId).state, 'queued');
  await one.cancel(waiting.runId);
  assert.equal((await one.waitFor(waiting.runId)).state, 'cancelled');
  await one.cancel(busy.runId);
  const next = await one.admit(s2.id, { text: 'after the cancel' });
  assert.equal((await one.waitFor(next.runId)).finalText, 'answered after the cancel');
  await one.stop();
  void gateway;
  await store.close();
});

test('a run cancelled before it started is not run after a restart; one a stop cut off before it started is', async () => {
  const script = parseScript({ version: 1, turns: [{ when: { lastMessageRole: 'tool' }, text: 'slept' }, { when: { lastUserStartsWith: 'nap' }, toolCalls: [{ name: 'sleep', arguments: { ms: 5000 } }] }, { when: {}, text: 'answered {{lastUser}}' }] });
  const { gateway, store, deps, options } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({});
  const going = await gateway.admit(session.id, { text: 'nap' });
  const cancelled = await gateway.admit(session.id, { text: 'delete everything', mode: 'followup' });
  const cutOff = await gateway.admit(session.id, { text: 'still wanted', mode: 'followup' });
  await gateway.cancel(cancelled.runId);
  await gateway.stop();
  assert.equal(gateway.run(going.runId).state, 'cancelled');
  assert.match(gateway.run(cutOff.runId).reason ?? '', /runs when the daemon starts again/);
  await store.close();
  const reopened = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: reopened });
  const { requeued } = await again.recover();
  assert.deepEqual(requeued, [cutOff.runId]);
  assert.equal((await again.waitFor(cutOff.runId)).finalText, 'answered still wanted');
  await reopened.close();
});

test('a duplicate idempotency key sent while the first is being written waits for it, and is admitted itself when the first fails', async () => {
  const { gateway, store } = await setup();
  const { session } = await gateway.sessions.create({});
  const tooBig = 'x'.repeat(200_000);
  (store as unknown as { maxPayloadBytes: number }).maxPayloadBytes = 100_000;
  const [first, second] = await Promise.allSettled([gateway.admit(session.id, { text: tooBig, idempotencyKey: 'k' }), gateway.admit(session.id, { text: tooBig, idempotencyKey: 'k' })]);
  assert.equal(first.status, 'rejected');
  assert.equal(second.status, 'rejected', 'the duplicate is not acknowledged for a message that never became durable');
  (store as unknown as { maxPayloadBytes: number }).maxPayloadBytes = 1_048_576;
  const [a, b] = await Promise.all([gateway.admit(session.id, { text: 'echo ok', idempotencyKey: 'k' }), gateway.admit(session.id, { text: 'echo ok', idempotencyKey: 'k' })]);
  assert.equal(a.duplicate, false);
  assert.deepEqual(b, { ...a, duplicate: true });
  await gateway.waitFor(a.runId);
  await store.close();
});

test('a message never joins a waiting resumed run or a waiting steer, and a steer stays one', async () => {
  const script = parseScript({ version: 1, turns: [{ when: { lastMessageRole: 'tool' }, text: 'slept' }, { when: { lastUserStartsWith: 'nap' }, toolCalls: [{ name: 'sleep', arguments: { ms: 300 } }] }, { when: {}, text: 'answered {{lastUser}}' }] });
  const { gateway, store } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({});
  const going = await gateway.admit(session.id, { text: 'nap' });
  const steer = await gateway.admit(session.id, { text: 'use y', mode: 'steer' });
  const collected = await gateway.admit(session.id, { text: 'and z', mode: 'collect' });
  assert.notEqual(collected.runId, steer.runId, 'the collect message waits as its own run');
  const steered = await gateway.waitFor(steer.runId);
  assert.equal(steered.steeredInto, going.runId);
  assert.equal((await gateway.waitFor(collected.runId)).finalText, 'answered and z');
  await store.close();
});

test('a run that saw a secret replays identically from its redacted tape; its content hashes are counted as unchecked, an edit still diverges', async () => {
  const { gateway, store } = await setup();
  const { session } = await gateway.sessions.create({});
  const token = ['gh', 'p_', 'abcdefghijklmnopqrstuvwxyz0123456789'].join('');
  const { runId } = await gateway.admit(session.id, { text: `echo my token is ${token}` });
  assert.equal((await gateway.waitFor(runId)).state, 'completed');
  await store.flushed();
  const { readRunTapeOf } = await import('./run-tape.ts');
  const { replayTape } = await import('../agent/index.ts');
  const tape = readRunTapeOf(store, runId).events.map((e) => ({ kind: e.kind, payload: e.payload, redactions: e.redactions ?? 0 }));
  assert.ok(!JSON.stringify(tape).includes(token), 'the tape holds no secret');
  const report = await replayTape(tape);
  assert.equal(report.identical, true, JSON.stringify(report.divergences.map((d) => d.step)));
  assert.ok(report.hashesUnchecked > 0);
  const edited = structuredClone(tape);
  const result = edited.find((e) => e.kind === 'tool.result') as unknown as { payload: { output: { text: string } } };
  result.payload.output.text = 'something else';
  assert.equal((await replayTape(edited)).identical, false, 'content is still compared');
  // Marker text alone relaxes nothing: only the record's own count (covered by its hash) does.
  const claimed = structuredClone(tape).map((e) => ({ ...e, redactions: 0 }));
  assert.equal((await replayTape(claimed)).identical, false, 'without the record\'s count the hashes are compared');
  const forged = structuredClone(tape) as unknown as { kind: string; redactions: number; payload: { output?: { text: string } } }[];
  const forgedResult = forged.find((e) => e.kind === 'tool.result') as (typeof forged)[number];
  (forgedResult.payload.output as { text: string }).text = 'TRANSFER $1M [REDACTED:github_token]';
  forgedResult.redactions = 0;
  assert.equal((await replayTape(forged)).identical, false, 'an edit that writes a marker itself still diverges');
  await store.close();
});

test('after a restart, runs that ended before it are known: a retried key finds its run and its answer', async () => {
  const { gateway, store, deps, options } = await setup();
  const { session } = await gateway.sessions.create({});
  const first = await gateway.admit(session.id, { text: 'echo once', idempotencyKey: 'k' });
  const ended = await gateway.waitFor(first.runId);
  await store.close();
  const reopened = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: reopened });
  await again.recover();
  const retry = await again.admit(session.id, { text: 'echo once', idempotencyKey: 'k' });
  assert.deepEqual([retry.duplicate, retry.runId], [true, first.runId]);
  const view = await again.waitFor(retry.runId);
  assert.deepEqual(
    [view.state, view.finalText, view.reason, view.messageIds, view.createdAt <= (view.finishedAt as number)],
    [ended.state, ended.finalText, ended.reason, ended.messageIds, true],
  );
  assert.deepEqual(view.counters, ended.counters);
  await reopened.close();
});

test('after a restart, only the newest keepEndedRuns ended runs come back (none for 0)', async () => {
  const { gateway, store, deps, options } = await setup();
  const { session } = await gateway.sessions.create({});
  const ids: string[] = [];
  for (const text of ['one', 'two']) {
    const { runId } = await gateway.admit(session.id, { text });
    await gateway.waitFor(runId);
    ids.push(runId);
  }
  await store.close();
  for (const [keep, expected] of [[0, []], [1, [ids[1]]], [5, [ids[1], ids[0]]]] as const) {
    const reopened = await JournalStore.open(options);
    const again = GatewayRuntimeState.open({ ...deps, journal: reopened, keepEndedRuns: keep });
    await again.recover();
    assert.deepEqual(again.listRuns().map((r) => r.runId), expected, `keepEndedRuns ${keep}`);
    await reopened.close();
  }
});

test('after a restart, an interrupted run that was resumed, and a message steered into a run the crash cut off, are known', async () => {
  const { gateway, store, deps, options } = await setup();
  const { session } = await gateway.sessions.create({});
  const put = (kind: string, runId: string, payload: Record<string, unknown>) => store.append({ kind, sessionId: session.id, runId, actor: 'gateway', payload: payload as never });
  // Run A: interrupted in an earlier start, then resumed as R, which completed.
  await put('message.received', 'run_A', { messageId: 'msg_a', runId: 'run_A', idempotencyKey: 'ka', text: 'first', mode: 'coalesce' });
  await put('run.started', 'run_A', {});
  await put('run.interrupted', 'run_A', { runId: 'run_A', reason: 'interrupted' });
  await put('run.resumed', 'run_R', { runId: 'run_R', fromRunId: 'run_A', reused: 0, notRepeated: [] });
  await put('run.started', 'run_R', {});
  await put('run.finished', 'run_R', { state: 'completed', reason: 'final answer', finalText: 'done', counters: {} });
  // Run C: going when the daemon died, with message D steered into it.
  await put('message.received', 'run_C', { messageId: 'msg_c', runId: 'run_C', idempotencyKey: 'kc', text: 'nap', mode: 'coalesce' });
  await put('run.started', 'run_C', {});
  await put('message.received', 'run_D', { messageId: 'msg_d', runId: 'run_D', idempotencyKey: 'kd', text: 'steer', mode: 'steer', steerInto: 'run_C' });
  await put('run.steered', 'run_C', { turn: 1, steers: [{ id: 'run_D', text: 'steer' }] });
  await store.close();
  const reopened = await JournalStore.open(options);
  const again = GatewayRuntimeState.open({ ...deps, journal: reopened });
  await again.recover();
  for (const [key, runId, state, text, mode] of [['ka', 'run_A', 'failed', 'first', 'coalesce'], ['kc', 'run_C', 'failed', 'nap', 'coalesce'], ['kd', 'run_D', 'failed', 'steer', 'steer']] as const) {
    const retry = await again.admit(session.id, { text, mode, idempotencyKey: key });
    assert.deepEqual([retry.duplicate, retry.runId], [true, runId]);
    assert.equal((await again.waitFor(runId)).state, state, runId);
  }
  assert.equal(again.run('run_D').steeredInto, 'run_C');
  assert.equal(again.run('run_R').resumedFrom, 'run_A');
  await assert.rejects(again.resume('run_A'), { code: 'PALYRA_CONFLICT', message: /resumed already, as run "run_R"/ });
  await reopened.close();
});

test('a run a clean stop cancelled stays out of the history, as after a crash: its resume tells the turn once, and it stays resumable beyond the ended runs kept', async () => {
  const script = parseScript({
    version: 1,
    turns: [
      { when: { lastMessageRole: 'tool' }, text: 'rested' },
      { when: { lastUserStartsWith: 'nap' }, toolCalls: [{ name: 'sleep', arguments: { ms: 30000 } }] },
      { when: {}, text: 'heard {{lastUser}}' },
    ],
  });
  const { gateway, store, deps, options } = await setup(createScriptedProvider(script));
  const { session } = await gateway.sessions.create({});
  const { runId } = await gateway.admit(session.id, { text: 'nap' });
  await new Promise<void>((resolve) => gateway.events(runId).subscribe(0, (e) => (e.type === 'tool_call_started' ? resolve() : undefined)));
  await gateway.stop();
  await store.close();
  /** What the model was given at the start of a run. */
  const sent = (journal: JournalStore, id: string) => {
    const started = [...readRecords(join(journal.paths.dir, 'segments'))].find((l) => l.record.kind === 'run.started' && l.record.runId === id);
    return (JSON.parse(started?.record.payloadJson ?? '{}') as { messages: { role: string; content: string }[] }).messages.map((m) => `${m.role}: ${m.content}`);
  };

  // Restarted, not resumed: a later message does not see a question left without an answer.
  const second = await JournalStore.open(options);
  const after = GatewayRuntimeState.open({ ...deps, journal: second });
  await after.recover();
  const other = await after.admit(session.id, { text: 'hello' });
  assert.equal((await after.waitFor(other.runId)).state, 'completed');
  assert.deepEqual(sent(second, other.runId), ['user: hello']);
  await after.stop();
  await second.close();

  // Restarted again, keeping one ended run: the stopped run is still there, and resumable.
  const third = await JournalStore.open(options);
  const later = GatewayRuntimeState.open({ ...deps, journal: third, keepEndedRuns: 1 });
  await later.recover();
  assert.deepEqual([later.run(runId).state, later.run(runId).reason], ['cancelled', 'cancelled: the daemon stopped']);
  const resumed = await later.resume(runId);
  assert.equal((await later.waitFor(resumed.runId)).state, 'completed');
  const next = await later.admit(session.id, { text: 'again' });
  await later.waitFor(next.runId);
  assert.deepEqual(sent(third, next.runId), ['user: hello', 'assistant: heard hello', 'user: nap', 'assistant: rested', 'user: again']);
  await later.stop();
  await third.close();

  // And the history rebuilt from the journal is the same.
  const fourth = await JournalStore.open(options);
  const last = GatewayRuntimeState.open({ ...deps, journal: fourth });
  await last.recover();
  const final = await last.admit(session.id, { text: 'end' });
  await last.waitFor(final.runId);
  assert.deepEqual(sent(fourth, final.runId), ['user: hello', 'assistant: heard hello', 'user: nap', 'assistant: rested', 'user: again', 'assistant: heard again', 'user: end']);
  await last.stop();
  await fourth.close();
});

test('events of an unexpected shape in the journal are skipped and reported on start, never keep the daemon from starting', async () => {
  const { gateway, store, deps, options } = await setup();
  const { session } = await gateway.sessions.create({ key: 'kept' });
  const done = await gateway.admit(session.id, { text: 'echo kept', idempotencyKey: 'k-kept' });
  await gateway.waitFor(done.runId);
  // What an older or other writer could have left (the log can never drop them).
  const odd: [string, unknown][] = [
    ['session.created', 42], ['session.created', null], ['session.created', { id: 7 }], ['memory.stored', 42], ['memory.deleted', null],
    ['message.received', 42], ['run.resumed', {}], ['run.steered', { steers: 'x' }], ['run.finished', []],
  ];
  for (const [kind, payload] of odd) await store.append({ kind, payload: payload as never, sessionId: session.id, runId: 'run-odd' });
  await store.close();
  const reopened = await JournalStore.open(options);
  const warnings: string[] = [];
  const memory = createJournalMemoryStore(reopened);
  const again = GatewayRuntimeState.open({ ...deps, journal: reopened, memory, journalReaders: [(r) => memory.replay(r)], warn: (m) => void warnings.push(m) });
  // run.steered and run.finished of a run that never started are ignored as before (nothing to apply them to).
  assert.deepEqual(
    warnings.map((w) => /^journal event \d+ \((\S+)\) could not be read back and was skipped: /.exec(w)?.[1]),
    ['session.created', 'session.created', 'session.created', 'memory.stored', 'memory.deleted', 'message.received', 'run.resumed'],
  );
  assert.equal(again.sessions.resolve('kept').id, session.id, 'the good events are all there');
  assert.equal((await again.admit(session.id, { text: 'echo kept', idempotencyKey: 'k-kept' })).duplicate, true);
  const next = await again.admit(session.id, { text: 'echo after' });
  assert.equal((await again.waitFor(next.runId)).state, 'completed', 'the daemon works on');
  await reopened.close();
});
