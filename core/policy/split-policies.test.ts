import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCedar } from './cedar-runtime.ts';
import { samePolicies, splitPolicies } from './split-policies.ts';

test('policies are found in file order with their offsets, past semicolons in strings and comments', async () => {
  const text = [
    '// header; not a policy',
    '@id("a;b") permit (principal, action, resource == Tool::"x;y"); // trailing ;',
    '',
    'forbid (',
    '  principal, // a ; in a comment',
    '  action,',
    '  resource',
    ') when { context.argsJson like "*\\";*" };',
    ...Array.from({ length: 11 }, (_, i) => `permit (principal, action, resource == Tool::"t${i}");`),
  ].join('\n');
  const pieces = splitPolicies(text);
  assert.deepEqual(pieces.slice(0, 2), [
    { text: '@id("a;b") permit (principal, action, resource == Tool::"x;y");', offset: 24 },
    { text: 'forbid (\n  principal, // a ; in a comment\n  action,\n  resource\n) when { context.argsJson like "*\\";*" };', offset: 103 },
  ]);
  assert.deepEqual(pieces.slice(2).map((p) => p.text.slice(-5)), Array.from({ length: 11 }, (_, i) => `t${i}");`.slice(-5)));
  // Cedar returns the same texts, though in the order of its internal ids.
  const parts = (await loadCedar()).policySetTextToParts(text);
  assert.equal(parts.type, 'success');
  assert.equal(parts.type === 'success' && samePolicies(pieces, parts.policies), true);
  assert.equal(samePolicies(pieces.slice(1), parts.type === 'success' ? parts.policies : []), false);
});
