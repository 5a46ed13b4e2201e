import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, runCliStdoutClosed } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

const DOCS = `// Let the docs bot fetch from the docs site without asking.
// @example allow tool=http.fetch principal=docs-bot args='{"url":"https://docs.example.com/a"}'
// @example ask tool=http.fetch principal=docs-bot args='{"url":"https://elsewhere.example/"}'
@id("docs.fetch")
@reason("The docs bot may fetch from the docs site")
permit (principal == Agent::"docs-bot", action == Action::"tool.invoke", resource == Tool::"http.fetch")
when { context.args has host && context.args.host == "docs.example.com" };
`;

/** A state directory whose policies/ holds the given files. */
function state(files: Record<string, string>): string {
  const root = join(tempDir(), 'state');
  mkdirSync(join(root, 'policies'), { recursive: true });
  writeFileSync(join(root, 'STATE'), '{"format":"palyra-state","version":1}\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'policies', name), text);
  return root;
}

test('policy check passes valid files with their examples, and fails a wrong example with file and line', () => {
  const root = state({ 'docs.cedar': DOCS });
  const ok = runCli(['--state', root, 'policy', 'check']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: 5 policies \(1 file\(s\) and the built-in set\), 15 example\(s\), 15 passed, 0 failed; set [0-9a-f]{64}\n$/);

  const wrong = join(root, 'wrong.cedar');
  writeFileSync(wrong, DOCS.replace('@example ask', '@example allow').replace(/docs\./g, 'wrong.'));
  const failed = runCli(['policy', 'check', wrong, '--json']);
  assert.equal(failed.code, 1);
  const report = JSON.parse(failed.stdout);
  assert.deepEqual(report.problems, [
    {
      kind: 'example',
      file: wrong,
      line: 3,
      column: 1,
      message: `Example failed: expected allow, got ask by [builtin.approved-sensitive]: allow tool=http.fetch principal=docs-bot args='{"url":"https://elsewhere.example/"}'`,
    },
  ]);
  const human = runCli(['policy', 'check', wrong]);
  assert.equal(human.code, 1);
  assert.match(human.stdout, new RegExp(`^${wrong}:3:1: example error: Example failed: expected allow, got ask`, 'm'));
});

test('policy check fails a typo\'d attribute with file, line and column; a missing path is a usage error', () => {
  const root = state({ 'docs.cedar': DOCS.replace('context.args.host ==', 'context.args.hots ==') });
  const r = runCli(['--state', root, 'policy', 'check']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`^${join(root, 'policies', 'docs.cedar')}:7:33: validation error: .*attribute \`args.hots\``, 'm'));
  assert.match(r.stdout, /^failed: 1 problem\(s\)/m);
  const missing = runCli(['policy', 'check', join(root, 'nope.cedar')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Policy path ".*nope\.cedar" does not exist/);
});

test('policy eval exits 0 allow, 1 deny, 3 ask, 2 when it cannot decide', () => {
  const root = state({ 'docs.cedar': DOCS });
  const run = (...args: string[]) => runCli(['--state', root, 'policy', 'eval', ...args]);
  const allow = run('--tool', 'http.fetch', '--principal', 'docs-bot', '--args', '{"url":"https://docs.example.com/x"}', '--json');
  assert.equal(allow.code, 0, allow.stderr);
  const decision = JSON.parse(allow.stdout);
  assert.deepEqual(
    { decision: decision.decision, policies: decision.policies, reasons: decision.reasons },
    { decision: 'allow', policies: ['docs.fetch'], reasons: ['The docs bot may fetch from the docs site'] },
  );
  assert.equal(run('--tool', 'process.run', '--not-owner', '--approved').code, 1);
  const ask = run('--tool', 'fs.write');
  assert.equal(ask.code, 3);
  assert.match(ask.stdout, /^ask: tool fs\.write for Agent::"main"\n/);
  assert.equal(run('--tool', 'custom', '--capabilities', 'fs_read', '--risk', 'low', '--context', '{"channel":"tg","toolCallsLeft":0}').code, 1);
  const unknown = run('--tool', 'mystery', '--json');
  assert.deepEqual([unknown.code, JSON.parse(unknown.stderr).error.code], [2, 'PALYRA_INVALID_ARGUMENT']);
  const badArgs = run('--tool', 'echo', '--args', '{"token":"s3cr3t-value" oops', '--json');
  // Where, never what: V8's message quotes the text (a secret, here) and differs between runtimes.
  assert.deepEqual([badArgs.code, JSON.parse(badArgs.stderr)], [2, { error: { code: 'PALYRA_INVALID_JSON', message: '--args is not valid JSON (at character 24)' } }]);
  assert.equal(run('--tool', 'echo', '--owner', '--not-owner').code, 2);
  writeFileSync(join(root, 'policies', 'bad.cedar'), 'permit (principal, action, resource) when { resource.nope };');
  const invalid = run('--tool', 'echo');
  assert.equal(invalid.code, 2, 'an invalid set is not a deny');
  assert.match(invalid.stderr, /^palyrad: Policy set is invalid: .*bad\.cedar:1:/);
});

test('policy show lists every policy with its source and the set hash', () => {
  const root = state({ 'docs.cedar': DOCS });
  const r = runCli(['--state', root, 'policy', 'show', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const shown = JSON.parse(r.stdout);
  assert.deepEqual(
    shown.policies.map((p: { id: string; source: string; line: number }) => [p.id, p.source, p.line]),
    [
      ['builtin.read-only', 'builtin', 5],
      ['builtin.approved-sensitive', 'builtin', 17],
      ['builtin.non-owner-forbidden', 'builtin', 29],
      ['builtin.budget-exhausted', 'builtin', 39],
      ['docs.fetch', join(root, 'policies', 'docs.cedar'), 4],
    ],
  );
  const evaluated = JSON.parse(runCli(['--state', root, 'policy', 'eval', '--tool', 'echo', '--json']).stdout);
  assert.equal(shown.policySetHash, evaluated.policySetHash);
  const text = runCli(['--state', root, 'policy', 'show']);
  assert.match(text.stdout, new RegExp(`^// Effective policy set ${shown.policySetHash}\n// 5 policies: 4 built-in, 1 from files\\.\n`));
});

test('policy eval: a trailing dot on the host does not slip past a forbid on it', () => {
  const root = state({
    'ops.cedar': `@id("ops.no-evil")
@reason("never fetch evil.example")
forbid (principal, action == Action::"tool.invoke", resource == Tool::"http.fetch")
when { context.args has host && context.args.host == "evil.example" };
@id("ops.fetch-ok")
permit (principal, action == Action::"tool.invoke", resource == Tool::"http.fetch");
`,
  });
  for (const url of ['https://evil.example/x', 'https://EVIL.example./x', 'https://evil.example%2e/x']) {
    const r = runCli(['--state', root, 'policy', 'eval', '--tool', 'http.fetch', '--args', JSON.stringify({ url }), '--json']);
    assert.equal(r.code, 1, `${url}: ${r.stdout}${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout).policies, ['ops.no-evil'], url);
  }
});

test('a reader that stops early (EPIPE on stdout) ends the CLI quietly, for any command', async () => {
  const root = state({});
  for (const args of [['--state', root, 'policy', 'eval', '--tool', 'echo', '--json'], ['--state', root, 'policy', 'eval', '--tool', 'fs.write'], ['--version']]) {
    const r = await runCliStdoutClosed(args);
    assert.deepEqual([r.signal, r.stderr], [null, ''], args.join(' '));
    assert.ok(r.code === 0 || r.code === 3, `${args.join(' ')}: exit ${r.code}`);
  }
});
