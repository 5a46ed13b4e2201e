import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTerminal, RunStateMachine, type RunState, type RunTransition } from './run-state-machine.ts';

function machine() {
  let now = 1000;
  const recorded: RunTransition[] = [];
  const m = new RunStateMachine('run-1', { clock: { now: () => now++ }, record: (t) => recorded.push(t) });
  return { m, recorded };
}

test('a run goes queued → running ⇄ waiting → completed, each step recorded with its reason and time', () => {
  const { m, recorded } = machine();
  m.transition('running', 'started');
  m.transition('waiting', 'approval needed for fs.write');
  m.transition('running', 'approval resolved');
  m.transition('completed', 'final answer');
  assert.equal(m.state, 'completed');
  assert.equal(m.ended, true);
  assert.deepEqual(recorded, [
    { runId: 'run-1', from: 'queued', to: 'running', reason: 'started', at: 1000 },
    { runId: 'run-1', from: 'running', to: 'waiting', reason: 'approval needed for fs.write', at: 1001 },
    { runId: 'run-1', from: 'waiting', to: 'running', reason: 'approval resolved', at: 1002 },
    { runId: 'run-1', from: 'running', to: 'completed', reason: 'final answer', at: 1003 },
  ]);
});

test('illegal transitions throw, record nothing and leave the state alone', () => {
  const illegal: [RunState[], RunState][] = [
    [[], 'completed'],
    [[], 'waiting'],
    [['running'], 'queued'],
    [['running', 'waiting'], 'completed'],
    [['running', 'completed'], 'running'],
    [['cancelled'], 'running'],
    [['failed'], 'failed'],
  ];
  for (const [path, to] of illegal) {
    const { m, recorded } = machine();
    for (const step of path) m.transition(step, 'setup');
    const before = m.state;
    assert.throws(() => m.transition(to, 'test'), { code: 'PALYRA_RUN_ILLEGAL_TRANSITION', message: `Run "run-1" cannot go from ${before} to ${to} (test)` });
    assert.equal(m.state, before);
    assert.equal(recorded.length, path.length);
  }
});

test('cancellation and failure end a run from any live state', () => {
  for (const path of [[], ['running'], ['running', 'waiting']] as RunState[][]) {
    for (const end of ['cancelled', 'failed'] as const) {
      const { m } = machine();
      for (const step of path) m.transition(step, 'setup');
      m.transition(end, 'stop');
      assert.equal(m.state, end);
    }
  }
  assert.deepEqual((['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'] as RunState[]).map(isTerminal), [false, false, false, true, true, true]);
});
