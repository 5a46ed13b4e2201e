import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApprovalRegistry, compilePolicySet, decideToolCall } from '../policy/index.ts';
import { createEchoTool, ToolRegistry } from '../tools/index.ts';
import { registryApprovals, registryTools } from './port-adapters.ts';
import { replayTape } from './replay.ts';
import { runAgent } from './run-agent.ts';
import { FakeTimers, harness, input, ok, payloads, scripted, tool, until } from './test-fakes.ts';

test('a run over a real ToolRegistry, the default policy set and an ApprovalRegistry', async () => {
  const registry = new ToolRegistry({ now: () => 0 });
  registry.register(createEchoTool());
  registry.register({ ...createEchoTool(), name: 'fs.write', capabilities: ['fs_write'], risk: 'medium', parallelSafe: false });
  const compiled = await compilePolicySet([], { validateRequests: true });
  if (compiled.type !== 'ok') throw new Error('default set does not compile');
  const set = compiled.set;
  const approvalTimers = new FakeTimers();
  let n = 0;
  const approvals = new ApprovalRegistry({ clock: { now: () => 1 }, timers: approvalTimers, newId: () => `a${++n}` });
  const h = harness({
    provider: scripted([{ toolCalls: [{ name: 'echo', arguments: { text: 'hi' } }, { name: 'fs.write', arguments: { text: 'w' } }] }, { text: 'done' }]),
    tools: registryTools(registry, { workspace: '/tmp/ws', stateDir: '/tmp/state', sessionId: 'session-1' }),
    decide: (request) => decideToolCall(request, set),
    approvals: registryApprovals(approvals),
  });
  const running = runAgent(input({ policySetHash: set.hash }), h.ports);
  await until(() => approvals.pending().length === 1);
  await approvals.resolve('a1', { type: 'approve', scope: 'once', by: 'operator' });
  const outcome = await running;
  assert.equal(outcome.state, 'completed');
  assert.deepEqual(
    payloads(h.tape, 'tool.decision').map((d) => [d.tool, d.approval, d.decision, d.policies]),
    [
      ['echo', 'none', 'allow', ['builtin.read-only']],
      ['fs.write', 'none', 'ask', ['builtin.approved-sensitive']],
      ['fs.write', 'approved', 'allow', ['builtin.approved-sensitive']],
    ],
  );
  assert.deepEqual(payloads(h.tape, 'tool.result').map((r) => [r.tool, r.ok, r.output]), [['echo', true, { text: 'hi' }], ['fs.write', true, { text: 'w' }]]);
  assert.deepEqual(payloads(h.tape, 'approval.resolved').map((r) => [r.approvalId, r.outcome, r.by, r.scope]), [['a1', 'approved', 'operator', 'once']]);
  assert.equal((await replayTape(h.tape)).identical, true);
});

test('runs share one frozen tool list until a tool is added or removed', () => {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  const context = { workspace: '/w', stateDir: '/s', sessionId: null };
  const first = registryTools(registry, context).list;
  assert.equal(registryTools(registry, { ...context, sessionId: 's2' }).list, first, 'the same list for another run');
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first[0]?.inputSchema), 'shared, so frozen');
  assert.throws(() => {
    (first[0] as { name: string }).name = 'changed';
  }, TypeError);
  assert.equal(registry.get('echo')?.inputSchema && Object.isFrozen(registry.get('echo')?.inputSchema), false, 'the registry\'s own schemas are untouched');
  registry.register({ ...createEchoTool(), name: 'echo2' });
  const second = registryTools(registry, context).list;
  assert.notEqual(second, first);
  assert.deepEqual(second.map((t) => t.name), ['echo', 'echo2']);
  registry.unregister('echo2');
  assert.deepEqual(registryTools(registry, context).list.map((t) => t.name), ['echo'], 'a removed tool leaves the list');
});

test('an approval of a run that stops waiting is withdrawn from the registry: cancelled, or failed on the tape bound right after the request', async () => {
  const cases = [
    { name: 'cancelled', budgets: {}, cancel: true, state: 'cancelled' },
    // run.started, queued→running, model.request, model.response, tool.proposed, tool.decision, running→waiting: the bound refuses approval.requested.
    { name: 'tape bound', budgets: { tapeMaxEvents: 7 }, cancel: false, state: 'failed' },
  ];
  for (const c of cases) {
    const timers = new FakeTimers();
    const approvals = new ApprovalRegistry({ clock: { now: () => 1 }, timers, newId: () => 'a1' });
    const controller = new AbortController();
    const h = harness({
      provider: scripted([{ toolCalls: [{ name: 'fs.write', arguments: { text: 'w' } }] }, { text: 'done' }]),
      tools: { list: [tool('fs.write', false, ['fs_write'], 'medium')], invoke: () => Promise.reject(new Error('must not run')) },
      decide: (request) => ({ decision: request.approval === 'approved' ? 'allow' : 'ask', policies: [], reasons: [], policySetHash: 'test-set' }),
      approvals: registryApprovals(approvals),
      onEvent: (event) => {
        if (c.cancel && event.type === 'approval_requested') controller.abort();
      },
    });
    const outcome = await runAgent(input({ principal: { type: 'Session', id: 's1', agent: 'main' }, budgets: c.budgets }), h.ports, { signal: controller.signal });
    assert.equal(outcome.state, c.state, c.name);
    assert.deepEqual(approvals.pending(), [], c.name);
    assert.equal(timers.pending, 0, `${c.name}: no expiry timer left`);
    await assert.rejects(approvals.resolve('a1', { type: 'approve', scope: 'session', by: 'ann' }), { code: 'PALYRA_APPROVAL_NOT_FOUND' }, c.name);
    assert.equal(approvals.approvalState({ principal: { type: 'Session', id: 's1', agent: 'main' }, tool: { name: 'fs.write' } } as never), 'none', c.name);
  }
});

test('a call a session approval allows is decided and recorded as approved, so what-if under the same set changes nothing', async () => {
  const compiled = await compilePolicySet([], { validateRequests: true });
  if (compiled.type !== 'ok') throw new Error('default set does not compile');
  const set = compiled.set;
  let n = 0;
  const approvals = new ApprovalRegistry({ clock: { now: () => 1 }, timers: new FakeTimers(), newId: () => `a${++n}` });
  const principal = { type: 'Session' as const, id: 's1', agent: 'main' };
  const runOnce = async () => {
    const h = harness({
      provider: scripted([{ toolCalls: [{ name: 'fs.write', arguments: { text: 'w' } }] }, { text: 'done' }]),
      tools: { list: [tool('fs.write', false, ['fs_write'], 'medium')], invoke: (name, args) => Promise.resolve(ok(name, args)) },
      decide: (request) => decideToolCall(request, set),
      approvalState: (request) => approvals.approvalState(request),
      approvals: registryApprovals(approvals),
    });
    const running = runAgent(input({ principal, policySetHash: set.hash }), h.ports);
    return { h, running };
  };
  const first = await runOnce();
  await until(() => approvals.pending().length === 1);
  await approvals.resolve('a1', { type: 'approve', scope: 'session', by: 'operator' });
  assert.equal((await first.running).state, 'completed');
  const second = await runOnce();
  assert.equal((await second.running).state, 'completed');
  assert.deepEqual(payloads(second.h.tape, 'tool.decision').map((d) => [d.approval, d.decision, d.policies]), [['approved', 'allow', ['builtin.approved-sensitive']]]);
  assert.deepEqual(payloads(second.h.tape, 'approval.requested'), [], 'the session approval needs no new one');
  const report = await replayTape(second.h.tape, { decide: (request) => decideToolCall(request, set) });
  assert.deepEqual([report.identical, report.whatIf], [true, []]);
});

test('a tool registered again with more capabilities or risk since the run listed it is not run under that decision', async () => {
  const registry = new ToolRegistry({ now: () => 0 });
  registry.register({ ...createEchoTool(), name: 'worker.w1.t' });
  const port = registryTools(registry, { workspace: '/tmp/ws', stateDir: '/tmp/state', sessionId: 's1' });
  const signal = new AbortController().signal;
  assert.equal((await port.invoke('worker.w1.t', { text: 'v1' }, signal)).ok, true);
  // The worker reconnects and declares the same name with process capability and high risk.
  registry.unregister('worker.w1.t');
  let ran = false;
  registry.register({ ...createEchoTool(), name: 'worker.w1.t', capabilities: ['process'], risk: 'high', run: async () => ((ran = true), { text: 'v2' }) });
  const refused = await port.invoke('worker.w1.t', { text: 'x' }, signal);
  assert.deepEqual(!refused.ok && refused.error.code, 'PALYRA_TOOL_FORBIDDEN');
  assert.equal(ran, false);
  // The same again, or less, runs: the decision still holds for it.
  registry.unregister('worker.w1.t');
  registry.register({ ...createEchoTool(), name: 'worker.w1.t' });
  assert.equal((await port.invoke('worker.w1.t', { text: 'v3' }, signal)).ok, true);
});
