import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parseTapeFile, serializeTapeFile } from '../core/agent/index.ts';
import { readRunTape } from '../core/gateway/run-tape.ts';
import { readRecords } from '../core/journal/index.ts';
import { acquireStateLock } from '../core/daemon/state-lock.ts';
import { runCli } from './helpers/cli.ts';
import { recordRuns } from './helpers/recorded-run.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** Forbids echo: stricter than the built-in set, which allows it. */
const NO_ECHO = `@id("no-echo")
@reason("Echo is not allowed here")
forbid (principal, action == Action::"tool.invoke", resource == Tool::"echo");
`;

const dir = tempDir();
const root = join(dir, 'state');
const tape = (...args: string[]) => runCli(['--state', root, 'tape', ...args]);

/** A run's tape file, made in process (as `tape export` makes it, without the origin). */
function exported(runId: string): string {
  const { sessionId, events } = readRunTape(join(root, 'journal'), runId);
  return serializeTapeFile({ runId, sessionId, origin: null }, events);
}

before(async () => {
  await recordRuns(root, [
    { scenario: 'tool-calls', runId: 'run-a', sessionId: 'session-1' },
    { scenario: 'denied', runId: 'run-b', sessionId: 'session-2' },
    { scenario: 'approval', runId: 'run-c', sessionId: 'session-1' },
    // A daemon that died mid-run leaves a tape without run.finished.
    { scenario: 'text-only', runId: 'run-d', sessionId: 'session-2', cutAfter: 3 },
  ]);
});

const summary = (runId: string, sessionId: string, state: string | null, reason: string | null, steps: number, firstSeq: number) => ({
  runId, sessionId, model: 'scripted-model', providerId: 'scripted', startedAt: 1_790_000_000_005, state, reason, steps, firstSeq, lastSeq: firstSeq + steps - 1,
});

test('tape list shows every run with its state, also while a daemon holds the state lock', () => {
  const lock = acquireStateLock(join(root, 'palyrad.lock'), { mode: 'serve', command: 'palyrad serve (test)' });
  try {
    const json = tape('list', '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      runs: [
        summary('run-a', 'session-1', 'completed', 'final answer', 14, 2),
        summary('run-b', 'session-2', 'completed', 'final answer', 11, 16),
        summary('run-c', 'session-1', 'completed', 'final answer', 16, 27),
        summary('run-d', 'session-2', null, null, 3, 43),
      ],
    });
    const human = tape('list', '--session', 'session-2');
    assert.equal(human.code, 0, human.stderr);
    assert.deepEqual(human.stdout.split('\n').map((l) => l.replace(/ +/g, ' ').trim()), [
      'RUN SESSION MODEL STARTED STATE STEPS',
      'run-b session-2 scripted-model 2026-09-21T14:13:20.005Z completed: final answer 11',
      'run-d session-2 scripted-model 2026-09-21T14:13:20.005Z unfinished 3',
      '',
    ]);
    assert.deepEqual(JSON.parse(tape('list', '--session', 'nobody', '--json').stdout), { runs: [] });
  } finally {
    lock.release();
  }
});

test('tape show prints one line per step with the essentials, and the events with --json', () => {
  const r = tape('show', 'run-b');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'run run-b (session session-2): 11 step(s), started 2026-09-21T14:13:20.005Z');
  assert.equal(lines.length, 12);
  assert.match(lines[2] ?? '', /^ {3}2 {2}14:13:20\.010 {2}run\.transition +queued → running: started$/);
  assert.match(lines[6] ?? '', /^ {3}6 {2}\S+ {2}tool\.decision +shell\.run call_1_0: deny by builtin\.non-owner-forbidden — A sender who is not the owner never gets/);
  assert.match(lines[7] ?? '', /tool\.result +shell\.run call_1_0 from policy: error PALYRA_TOOL_FORBIDDEN: Denied by policy/);
  assert.match(lines[9] ?? '', /model\.response +turn 2, "I may not run that\.", via scripted \(scripted-model\), finish stop$/);
  assert.match(lines[11] ?? '', /run\.finished +completed: final answer; 2 turn\(s\), 1 tool call\(s\), 58\+9 tokens, answer "I may not run that\."$/);

  const json = tape('show', 'run-b', '--json');
  assert.equal(json.code, 0, json.stderr);
  const shown = JSON.parse(json.stdout) as { runId: string; sessionId: string; events: { seq: number; hash: string; kind: string; payload: { step: number } }[] };
  assert.deepEqual([shown.runId, shown.sessionId], ['run-b', 'session-2']);
  assert.deepEqual(shown.events.map((e) => [e.seq, e.payload.step]), Array.from({ length: 11 }, (_, i) => [16 + i, i + 1]));
  assert.ok(shown.events.every((e) => /^[0-9a-f]{64}$/.test(e.hash)));
});

test('tape export writes the self-contained file (stdout or --out, mode 0600) and it replays identically', () => {
  const out = tape('export', 'run-a');
  assert.equal(out.code, 0, out.stderr);
  const file = join(dir, 'run-a.tape.jsonl');
  const written = tape('export', 'run-a', '--out', file);
  assert.deepEqual([written.code, written.stdout], [0, `wrote 14 step(s) of run run-a to ${file}\n`]);
  assert.equal(readFileSync(file, 'utf8'), out.stdout);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(tape('export', 'run-a', '--out', file, '--json').stdout), { runId: 'run-a', steps: 14, out: file });
  assert.equal(tape('export', 'run-a', '--json').stdout, out.stdout, '--json on stdout: the same JSON lines');
  const missing = join(dir, 'no-such-folder', 'deeper', 'x.jsonl');
  const refused = tape('export', 'run-a', '--out', missing);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^palyrad: Cannot write ".*x\.jsonl": .*no such file or directory/i);
  assert.equal(existsSync(join(dir, 'no-such-folder')), false, 'a mistyped folder is not created');

  const { header, events } = parseTapeFile(out.stdout);
  const genesis = readRecords(join(root, 'journal', 'segments')).next().value?.record;
  const origin = (JSON.parse(genesis?.payloadJson ?? '{}') as { origin: string }).origin;
  assert.match(origin, /^palyra:journal:/);
  assert.deepEqual(header, { format: 'palyra-tape', fileVersion: 1, runId: 'run-a', sessionId: 'session-1', origin, events: 14 });
  assert.deepEqual(events, readRunTape(join(root, 'journal'), 'run-a').events, 'the file holds the journal events with their seq and hash');

  const replay = runCli(['tape', 'replay', '--file', file]);
  assert.equal(replay.code, 0, replay.stderr);
  assert.equal(replay.stdout, 'identical: run run-a replayed 14 of 14 step(s) exactly as recorded; it completed (final answer)\n');
});

test('tape replay of a journal run (with an approval) is identical, and --json has the report shape', () => {
  const r = tape('replay', 'run-c', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    runId: 'run-c',
    source: { type: 'journal' },
    identical: true,
    unfinished: false,
    steps: 16,
    recordedSteps: 16,
    divergenceCount: 0,
    divergences: [],
    hashesUnchecked: 0,
    whatIf: [],
    whatIfPolicySetHash: null,
    outcome: { state: 'completed', reason: 'final answer', finalText: 'Saved.', counters: { turns: 2, toolCalls: 1, inputTokens: 30, outputTokens: 8, cost: 0 } },
  });
});

test('an edited tape file (a changed tool output) exits 1 with a divergence naming the step', () => {
  const file = join(dir, 'edited.tape.jsonl');
  writeFileSync(file, exported('run-a').replace('"output":{"text":"one"}', '"output":{"text":"uno"}'));
  const human = runCli(['tape', 'replay', '--file', file]);
  assert.equal(human.code, 1, human.stderr);
  assert.match(human.stdout, /^DIVERGENT: run run-a replayed 14 step\(s\) against 14 recorded; 3 step\(s\) differ\n {2}step 9 tool\.result: receipt differs\n/);
  assert.match(human.stdout, /\n {2}step 14 run\.finished: messagesHash differs\n/);

  const json = runCli(['tape', 'replay', '--file', file, '--json']);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as { identical: boolean; divergenceCount: number; divergences: { step: number; expected: { kind: string; payload: { output: unknown } }; actual: { kind: string } }[] };
  assert.equal(report.identical, false);
  assert.deepEqual(report.divergences.map((d) => [d.step, d.expected.kind, d.actual.kind]), [[9, 'tool.result', 'tool.result'], [11, 'model.request', 'model.request'], [14, 'run.finished', 'run.finished']]);
  assert.deepEqual(report.divergences[0]?.expected.payload.output, { text: 'uno' });
});

test('--policies reports the recorded calls a stricter policy would decide differently, and the replay stays identical', () => {
  const policy = join(dir, 'no-echo.cedar');
  writeFileSync(policy, NO_ECHO);
  const r = tape('replay', 'run-a', '--policies', policy, '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { identical: boolean; whatIfPolicySetHash: string; whatIf: { step: number; tool: string; args: unknown; recorded: { decision: string }; decided: { decision: string; policies: string[] }; reasons: string[] }[] };
  assert.equal(report.identical, true);
  assert.match(report.whatIfPolicySetHash, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    report.whatIf.map((w) => [w.step, w.tool, w.args, w.recorded.decision, w.decided.decision, w.decided.policies, w.reasons]),
    [
      [7, 'echo', { text: 'one' }, 'allow', 'deny', ['no-echo'], ['Echo is not allowed here']],
      [8, 'echo', { text: 'two' }, 'allow', 'deny', ['no-echo'], ['Echo is not allowed here']],
    ],
  );
  const human = tape('replay', 'run-a', '--policies', policy);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /\nwhat-if \(policy set [0-9a-f]{12}\): 2 recorded call\(s\) would be decided differently\n {2}step 7 echo call_1_0 \{"text":"one"\}: allow → deny by no-echo — Echo is not allowed here\n/);
  const same = tape('replay', 'run-b', '--policies', policy);
  assert.match(same.stdout, /\nwhat-if \(policy set [0-9a-f]{12}\): every recorded decision stays the same\n$/);
});

test('bad input: clear errors, exit 2 for usage and I/O, exit 1 for a tape that is invalid or too new', () => {
  const error = (r: ReturnType<typeof runCli>) => [r.code, (JSON.parse(r.stderr) as { error: { code: string; message: string } }).error];
  assert.deepEqual(error(tape('replay', 'run-zzz', '--json')), [2, { code: 'PALYRA_NOT_FOUND', message: 'No tape for run "run-zzz" in this journal; \'palyrad tape list\' shows the runs it has' }]);
  const usage = { code: 'PALYRA_USAGE', message: "Give a RUN id or --file TAPE, not both or neither. See 'palyrad tape replay --help'." };
  assert.deepEqual(error(tape('replay', 'run-a', '--file', 'x', '--json')), [2, usage]);

  const missing = join(dir, 'missing.jsonl');
  assert.deepEqual(error(runCli(['tape', 'replay', '--file', missing, '--json'])), [2, { code: 'PALYRA_IO', message: `Cannot read tape file "${missing}": ENOENT (no such file or directory)` }]);
  const garbage = join(dir, 'garbage.jsonl');
  writeFileSync(garbage, 'this is not a tape\n');
  const g = runCli(['tape', 'replay', '--file', garbage]);
  assert.deepEqual([g.code, g.stdout, g.stderr], [1, '', 'palyrad: Tape file line 1 is not JSON\n']);
  const newer = join(dir, 'newer.jsonl');
  writeFileSync(newer, exported('run-a').replace('"fileVersion":1', '"fileVersion":2'));
  assert.deepEqual(error(runCli(['tape', 'replay', '--file', newer, '--json'])), [
    1,
    { code: 'PALYRA_TAPE_UNSUPPORTED_VERSION', message: 'Tape file version 2 is newer than this palyrad reads (up to 1); upgrade palyrad' },
  ]);

  const bad = join(dir, 'bad.cedar');
  writeFileSync(bad, 'permit (principal, action == Action::"tool.invoke", resource) when { context.nope };\n');
  const b = tape('replay', 'run-a', '--policies', bad, '--json');
  assert.equal(b.code, 2, 'an invalid policy set is a usage error, not a divergence');
  assert.equal(b.stdout, '');
  assert.equal((JSON.parse(b.stderr) as { error: { code: string } }).error.code, 'PALYRA_POLICY_INVALID');
});

test('tape replay of a tape cut off by a crash (no run.finished) is identical up to its end and says it is unfinished', () => {
  const human = tape('replay', 'run-d');
  assert.deepEqual([human.code, human.stdout, human.stderr], [
    0,
    'identical: run run-d replayed 3 of 3 step(s) exactly as recorded; the tape is unfinished (no run.finished: the run was still going, or was cut off), so the replay stopped where it ends\n',
    '',
  ]);
  const json = tape('replay', 'run-d', '--json');
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.deepEqual([report.identical, report.unfinished, report.steps, report.recordedSteps, report.divergenceCount], [true, true, 3, 3, 0]);
});
