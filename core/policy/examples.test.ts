import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinPolicySet, checkPolicies, runExamples } from './check.ts';
import { BUILTIN_SOURCE } from './compile.ts';
import { findExamples, parseExample } from './examples.ts';

test('an example line parses into a request and an expected decision', () => {
  assert.deepEqual(
    parseExample(`ask tool=fetch capabilities=network,remote risk=medium principal=bot session=s9 args='{"url": "https://x.test/a b"}' not-owner channel=tg sender=tg:1 workspace=/w calls=5 policies=b,a`, { file: 'a.cedar', line: 3 }),
    {
      file: 'a.cedar',
      line: 3,
      text: `ask tool=fetch capabilities=network,remote risk=medium principal=bot session=s9 args='{"url": "https://x.test/a b"}' not-owner channel=tg sender=tg:1 workspace=/w calls=5 policies=b,a`,
      expected: 'ask',
      request: {
        tool: { name: 'fetch', capabilities: ['network', 'remote'], risk: 'medium' },
        principal: { type: 'Session', id: 's9', agent: 'bot' },
        args: { url: 'https://x.test/a b' },
        workspace: '/w',
        channel: 'tg',
        sender: 'tg:1',
        senderIsOwner: false,
        approval: 'none',
        toolCallsLeft: 5,
      },
      policies: ['a', 'b'],
    },
  );
  assert.deepEqual(parseExample('allow tool=echo principal=Operator::"ann" approved', { file: 'f', line: 1 }).request, {
    tool: { name: 'echo' },
    principal: { type: 'Operator', id: 'ann' },
    approval: 'approved',
  });
});

test('malformed example lines are errors with their line, other comments are ignored', () => {
  const text = [
    '// @example maybe tool=echo',
    '// @example allow',
    '// @example allow tool=echo colour=blue',
    "// @example allow tool=echo args='{",
    '// @example allow tool=echo args={x}',
    '// @example allow tool=echo calls=many',
    '// an ordinary comment mentioning @example',
    '//@example deny tool=process.run not-owner',
  ].join('\n');
  const found = findExamples('x.cedar', text);
  assert.deepEqual(
    found.errors.map((e) => [e.line, e.message.replace(/:.*/, '')]),
    [
      [1, 'Example must start with allow, deny or ask, not "maybe"'],
      [2, 'Example needs tool=NAME'],
      [3, 'Unknown example field "colour"'],
      [4, 'Example has an unclosed single quote'],
      [5, 'Example args are not valid JSON'],
      [6, 'Example calls must be an integer, not "many"'],
    ],
  );
  assert.deepEqual(found.examples.map((e) => [e.line, e.expected]), [[8, 'deny']]);
});

test('every built-in example passes against the built-in set', async () => {
  const examples = findExamples(BUILTIN_SOURCE.file, BUILTIN_SOURCE.text);
  assert.deepEqual(examples.errors, []);
  const results = runExamples(await builtinPolicySet(), examples.examples);
  assert.deepEqual(results.filter((r) => !r.ok), []);
  assert.equal(results.length >= 10, true);
});

test('check reports a failing example and a request it cannot build, by file and line', async () => {
  const text = [
    '// @example allow tool=http.fetch args=\'{"url":"https://docs.example.com/"}\'',
    '// @example allow tool=http.fetch args=\'{"url":"https://evil.example/"}\'',
    '// @example deny tool=mystery',
    '@id("docs-fetch")',
    'permit (principal, action, resource == Tool::"http.fetch")',
    'when { context.args has host && context.args.host == "docs.example.com" };',
  ].join('\n');
  const report = await checkPolicies([{ file: 'docs.cedar', text, origin: { type: 'file', path: '/docs.cedar' } }]);
  assert.deepEqual(
    report.problems.map((p) => [p.kind, p.file, p.line, p.message]),
    [
      ['example', 'docs.cedar', 2, `Example failed: expected allow, got ask by [builtin.approved-sensitive]: allow tool=http.fetch args='{"url":"https://evil.example/"}'`],
      ['example', 'docs.cedar', 3, 'Example is not a valid request: Tool "mystery" is not a built-in tool: give its capabilities and risk'],
    ],
  );
  assert.deepEqual([report.ok, report.policies, report.examples.failed], [false, 5, 2]);
});
