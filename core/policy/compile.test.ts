import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicySet, type CompileResult } from './compile.ts';
import type { PolicySourceFile } from './policy-source.ts';

const file = (name: string, text: string): PolicySourceFile => ({ file: name, text, origin: { type: 'file', path: `/p/${name}` } });

function problemsOf(result: CompileResult) {
  assert.equal(result.type, 'invalid');
  return result.type === 'invalid' ? result.problems : [];
}

test('strict validation rejects a typo\'d attribute, naming file, line, column and policy', async () => {
  const text = [
    '// Team policies — reads for the docs bot.',
    '@id("team.read")',
    'permit (principal, action == Action::"tool.invoke", resource)',
    'when { resource.capabilitys.contains("fs_read") };',
  ].join('\n');
  assert.deepEqual(problemsOf(await compilePolicySet([file('team.cedar', text)])), [
    {
      kind: 'validation',
      file: 'team.cedar',
      line: 4,
      column: 8,
      policyId: 'team.read',
      message: 'for policy `team.read`, attribute `capabilitys` on entity type `Tool` not found (did you mean `capabilities`?)',
    },
  ]);
});

test('strict validation insists on testing optional arguments before use', async () => {
  const problems = problemsOf(await compilePolicySet([file('a.cedar', '@id("a") permit (principal, action, resource) when { context.args.path like "docs/*" };')]));
  assert.deepEqual(
    problems.map((p) => [p.kind, p.line, p.column, p.policyId]),
    [['validation', 1, 54, 'a']],
  );
  assert.match(problems[0]?.message ?? '', /optional attribute `args.path`/);
});

test('a parse error is located by line and column even after non-ASCII text', async () => {
  const text = '// écrit à la main ✓\npermit (principal, action, resource)\nwhen { context.channel == "é" ++ };\n';
  assert.deepEqual(
    problemsOf(await compilePolicySet([file('bad.cedar', text)])).map((p) => [p.kind, p.file, p.line, p.column]),
    [['parse', 'bad.cedar', 3, 32]],
  );
});

test('ids: generated as <file>#<n>, refused when duplicated, reserved or empty; templates refused', async () => {
  const ok = await compilePolicySet([file('a.cedar', 'permit (principal, action, resource == Tool::"x");\n\npermit (principal, action, resource == Tool::"y");')]);
  assert.equal(ok.type, 'ok');
  if (ok.type === 'ok') {
    assert.deepEqual(
      ok.set.policies.filter((p) => p.origin.type === 'file').map((p) => [p.id, p.line, p.scopedTool]),
      [['a.cedar#1', 1, 'x'], ['a.cedar#2', 3, 'y']],
    );
  }
  const problems = problemsOf(
    await compilePolicySet([
      file('one.cedar', '@id("dup") permit (principal, action, resource);'),
      file('two.cedar', '\n@id("dup") permit (principal, action, resource);\n@id("builtin.mine") permit (principal, action, resource);\n@id("") permit (principal, action, resource);'),
      file('three.cedar', 'permit (principal == ?principal, action, resource);'),
    ]),
  );
  assert.deepEqual(
    problems.map((p) => [p.file, p.line, p.message]),
    [
      ['two.cedar', 2, 'Policy id "dup" is already used at one.cedar:1'],
      ['two.cedar', 3, 'Policy id "builtin.mine" is reserved: ids starting with "builtin." belong to the built-in set'],
      ['two.cedar', 4, '@id needs a non-empty value, as in @id("team.allow-fetch")'],
      ['three.cedar', 1, 'Policy templates (with ?principal or ?resource) are not supported; write a static policy'],
    ],
  );
});

test('the set hash ignores comments, layout and file names, and changes with what a policy says', async () => {
  const hash = async (f: PolicySourceFile) => {
    const r = await compilePolicySet([f]);
    assert.equal(r.type, 'ok');
    return r.type === 'ok' ? r.set.hash : '';
  };
  const base = await hash(file('a.cedar', '@id("x") permit (principal, action, resource == Tool::"echo");'));
  assert.equal(await hash(file('b.cedar', '// a comment\n@id("x")\npermit (\n  principal,\n  action,\n  resource == Tool::"echo"\n);\n')), base);
  assert.notEqual(await hash(file('a.cedar', '@id("x") permit (principal, action, resource == Tool::"sleep");')), base);
  assert.notEqual(await hash(file('a.cedar', '@id("y") permit (principal, action, resource == Tool::"echo");')), base);
  const builtinOnly = await compilePolicySet([]);
  assert.equal(builtinOnly.type === 'ok' && /^[0-9a-f]{64}$/.test(builtinOnly.set.hash), true);
});

test('every problem of every file is reported, not just the first', async () => {
  const problems = problemsOf(
    await compilePolicySet([
      file('a.cedar', 'permit (principal, action, resource) when { resource.nam == "x" };'),
      file('b.cedar', 'permit (principal, action, resource) when { context.chanel == "x" };'),
    ]),
  );
  assert.deepEqual(
    problems.map((p) => [p.file, p.policyId]),
    [
      ['a.cedar', 'a.cedar#1'],
      ['b.cedar', 'b.cedar#1'],
    ],
  );
});
