/**
 * The golden tapes: files recorded once by scripts/make-golden-tapes.ts and committed.
 * Invariant: this test only reads them. If a change to the loop, the tape reader or the
 * replayer stops an older tape from replaying identically, this fails; regenerating the
 * files would hide exactly the break this exists to catch.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTape, parseTapeFile, replayTape, TAPE_VERSION, type TapeEvent, type TapeKind, type TapePayload } from '../core/agent/index.ts';
import { runCli } from './helpers/cli.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'tapes');

/** Version 1 tapes lie directly in fixtures/tapes; each later version has its own folder. */
const VERSIONS: { version: number; dir: string }[] = [
  { version: 1, dir: DIR },
  ...Array.from({ length: TAPE_VERSION - 1 }, (_, i) => ({ version: i + 2, dir: join(DIR, `v${i + 2}`) })),
];

function load(dir: string, name: string): { runId: string; tape: TapeEvent[] } {
  const { header, events } = parseTapeFile(readFileSync(join(dir, `${name}.tape.jsonl`), 'utf8'));
  return { runId: header.runId, tape: parseTape(events.map((e) => ({ kind: e.kind, payload: e.payload }))) };
}

function of<K extends TapeKind>(tape: readonly TapeEvent[], kind: K): TapePayload<K>[] {
  return tape.filter((e) => e.kind === kind).map((e) => e.payload as TapePayload<K>);
}

const finished = (tape: readonly TapeEvent[]) => {
  const last = tape.at(-1);
  assert.equal(last?.kind, 'run.finished', 'the tape ends with run.finished');
  return last.payload as TapePayload<'run.finished'>;
};

/** What each tape must show to be what its name says. */
const CONTENT: Record<string, (tape: TapeEvent[]) => void> = {
  'text-only': (tape) => {
    assert.deepEqual(of(tape, 'tool.proposed'), []);
    assert.deepEqual([finished(tape).state, finished(tape).finalText], ['completed', 'Hello, world.']);
  },
  'tool-calls': (tape) => {
    assert.deepEqual(of(tape, 'tool.decision').map((d) => [d.tool, d.decision]), [['echo', 'allow'], ['echo', 'allow']]);
    assert.deepEqual(of(tape, 'tool.result').map((r) => [r.source, r.ok, r.output]), [['tool', true, { text: 'one' }], ['tool', true, { text: 'two' }]]);
    assert.equal(finished(tape).state, 'completed');
  },
  denied: (tape) => {
    assert.deepEqual(of(tape, 'tool.decision').map((d) => [d.tool, d.decision, d.policies]), [['shell.run', 'deny', ['builtin.non-owner-forbidden']]]);
    assert.deepEqual(of(tape, 'tool.result').map((r) => [r.source, r.ok, r.error?.code]), [['policy', false, 'PALYRA_TOOL_FORBIDDEN']]);
    assert.equal(finished(tape).state, 'completed', 'a denial is fed back to the model; the run goes on');
  },
  approval: (tape) => {
    assert.deepEqual(of(tape, 'approval.requested').map((a) => [a.tool, a.approvalId]), [['note.write', 'appr-1']]);
    assert.deepEqual(of(tape, 'approval.resolved').map((a) => [a.outcome, a.by, a.scope]), [['approved', 'operator', 'once']]);
    assert.deepEqual(of(tape, 'tool.decision').map((d) => [d.approval, d.decision]), [['none', 'ask'], ['approved', 'allow']]);
    assert.deepEqual(of(tape, 'tool.result').map((r) => [r.source, r.ok]), [['tool', true]]);
    assert.equal(finished(tape).state, 'completed');
  },
  cancelled: (tape) => {
    assert.deepEqual(of(tape, 'approval.resolved').map((a) => [a.outcome, a.interrupt]), [['interrupted', 'cancelled']]);
    const version = (tape[0]?.payload as { tapeVersion?: number }).tapeVersion;
    if (version === 1) assert.deepEqual(of(tape, 'tool.result'), [], 'the call never ran (version 1 recorded no result for it)');
    else assert.deepEqual(of(tape, 'tool.result').map((r) => [r.source, r.ok, r.error?.code]), [['stopped', false, 'PALYRA_TOOL_NOT_RUN']], 'the call never ran, and says so');
    assert.deepEqual([finished(tape).state, finished(tape).reason], ['cancelled', 'cancelled by request']);
  },
  'budget-exhausted': (tape) => {
    const end = finished(tape);
    assert.equal(end.state, 'failed');
    assert.match(end.reason, /^budget: /);
    assert.equal(end.reason, 'budget: max model turns 1 reached');
  },
};

for (const { version, dir } of VERSIONS) {
  test(`the committed golden tapes of version ${version} are exactly the known scenarios`, () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.tape.jsonl')).map((f) => f.slice(0, -'.tape.jsonl'.length)).sort();
    assert.deepEqual(files, Object.keys(CONTENT).sort());
  });

  for (const name of Object.keys(CONTENT)) {
    test(`golden tape ${name} (version ${version}) replays identically and shows what its name says`, async () => {
      const { runId, tape } = load(dir, name);
      assert.equal(runId, `run-${name}`);
      assert.ok(tape.every((e) => (e.payload as { tapeVersion?: number }).tapeVersion === version), `every step is of version ${version}`);
      const report = await replayTape(tape);
      assert.deepEqual(report.divergences, []);
      assert.deepEqual([report.identical, report.steps, report.recordedSteps], [true, tape.length, tape.length]);
      CONTENT[name]?.(tape);
    });
  }
}

test('palyrad tape replay --file replays a golden tape', () => {
  const r = runCli(['tape', 'replay', '--file', join(DIR, 'tool-calls.tape.jsonl'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { runId: string; identical: boolean; steps: number; divergences: unknown[] };
  assert.deepEqual([report.runId, report.identical, report.steps, report.divergences], ['run-tool-calls', true, 14, []]);
});
