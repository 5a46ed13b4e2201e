import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approvalPolicy } from './approval-policy.ts';
import { checkPolicies } from './check.ts';
import { BUILTIN_SOURCE, compilePolicySet } from './compile.ts';
import { decideToolCall } from './decide.ts';
import { findExamples } from './examples.ts';
import { toolCallRequest, type ToolCallRequestInput } from './request.ts';

const awkward: ToolCallRequestInput[] = [
  {
    tool: { name: 'fs.write' },
    args: { path: 'a "b"\\c.md', content: "it's\n\t* 😀 \u2028 é \u0001" },
    principal: { type: 'Session', id: 'sess "1"', agent: 'agent \\ x' },
  },
  { tool: { name: 'http.fetch' }, args: { url: 'https://x.example/?q=a b' }, principal: { type: 'Sender', id: "tg:o'brien" }, senderIsOwner: false },
  { tool: { name: 'odd.tool', capabilities: [], risk: 'high' }, args: {}, principal: { type: 'Operator', id: 'root' } },
];

test('generated policies survive awkward ids and arguments: valid, self-checking, and allowing exactly that call', async () => {
  const builtinExamples = findExamples(BUILTIN_SOURCE.file, BUILTIN_SOURCE.text).examples.length;
  for (const [i, input] of awkward.entries()) {
    const request = toolCallRequest(input);
    const generated = approvalPolicy({ approvalId: `X${i}`, request, approvedBy: 'ann\nforged line', approvedAt: 0, bindArgs: true });
    assert.equal(generated.fileName, `approved-X${i}.cedar`);
    // The approver's name cannot break out of its comment into policy text.
    assert.equal(generated.text.split('\n').filter((l) => l.startsWith('//')).length >= 3, true);
    assert.doesNotMatch(generated.text, /^forged line/m);
    const file = { file: generated.fileName, text: generated.text, origin: { type: 'file' as const, path: generated.fileName } };
    const report = await checkPolicies([file]);
    assert.deepEqual(report.problems, [], generated.text);
    // The example is present unless a value cannot be written on one line (the sender's quote).
    assert.equal(report.examples.total - builtinExamples, i === 1 ? 0 : 1, generated.text);
    const compiled = await compilePolicySet([file]);
    assert.equal(compiled.type, 'ok');
    if (compiled.type !== 'ok') continue;
    const decision = decideToolCall(request, compiled.set);
    assert.deepEqual([decision.decision, decision.policies], ['allow', [generated.policyId]], generated.text);
    const changed = decideToolCall({ ...request, args: { ...request.args, extra: 1 } }, compiled.set);
    assert.notEqual(changed.policies.join(), generated.policyId);
  }
});

test('an approved policy lapses when the tool gains capabilities', async () => {
  const request = toolCallRequest({ tool: { name: 'fs.write' } });
  const generated = approvalPolicy({ approvalId: 'Y', request, approvedBy: 'ann', approvedAt: 0, bindArgs: false });
  const compiled = await compilePolicySet([{ file: 'y.cedar', text: generated.text, origin: { type: 'file', path: 'y.cedar' } }]);
  assert.equal(compiled.type, 'ok');
  if (compiled.type !== 'ok') return;
  assert.equal(decideToolCall(request, compiled.set).decision, 'allow');
  const grown = { ...request, tool: { ...request.tool, capabilities: [...request.tool.capabilities, 'network' as const] } };
  assert.equal(decideToolCall(grown, compiled.set).decision, 'ask');
});

test('an approval id that cannot name a file is refused', () => {
  assert.throws(() => approvalPolicy({ approvalId: '../x', request: toolCallRequest({ tool: { name: 'echo' } }), approvedBy: 'a', approvedAt: 0, bindArgs: true }), {
    code: 'PALYRA_INVALID_ARGUMENT',
  });
});
