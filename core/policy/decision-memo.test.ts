import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCedar } from './cedar-runtime.ts';
import { compilePolicySet, type CompiledPolicySet } from './compile.ts';
import { decideToolCall } from './decide.ts';
import { contextAttributesRead } from './decision-memo.ts';
import { toolCallRequest, type ToolCallRequestInput } from './request.ts';
import type { PolicyEntry } from './policy-source.ts';

async function compile(text: string): Promise<CompiledPolicySet> {
  // As the daemon compiles: without request validation, so decisions are memoized.
  const result = await compilePolicySet(text ? [{ file: 'ops.cedar', text, origin: { type: 'file', path: 'ops.cedar' } }] : []);
  if (result.type !== 'ok') throw new Error(JSON.stringify(result.problems));
  return result.set;
}

const entry = (text: string): PolicyEntry => ({ id: 'p', effect: 'permit', text, canonicalText: text, origin: { type: 'builtin' }, file: 'x', line: 1, offset: 0 });

test('the context attributes a slice reads come from Cedar\'s JSON form; any other use of context is not bounded', async () => {
  const cedar = await loadCedar();
  const read = (...texts: string[]) => {
    const attrs = contextAttributesRead(cedar, texts.map(entry));
    return attrs === null ? null : [...attrs].sort();
  };
  assert.deepEqual(read('permit (principal, action, resource);'), []);
  assert.deepEqual(
    read('permit (principal, action, resource) when { context.approval == "approved" && context has senderIsOwner };', 'forbid (principal, action, resource) when { context["toolCallsLeft"] <= 0 || context.args.host == "x" };'),
    ['approval', 'args', 'senderIsOwner', 'toolCallsLeft'],
  );
  assert.equal(read('permit (principal, action, resource) when { context == {} };'), null, 'compared whole');
  assert.equal(read('permit (principal, action, resource) when { context.approval == "approved" };', 'permit (principal, action, resource) when { {a: context}.a.approval == "approved" };'), null, 'passed on whole');
  assert.equal(read('permit (principal, action, resource) when { context.nosuch == 1 };'), null, 'an attribute the key cannot hold');
  // Record keys are the author's: one spelled like an operator must not hide what follows.
  assert.equal(read('forbid (principal, action, resource) when { {"Var": context}.Var.sender == "mallory" };'), null, 'passed on whole under a key named Var');
  assert.equal(read('forbid (principal, action, resource) when { {".": context, "has": context}["."].sender == "mallory" };'), null, 'passed on whole under operator-like keys');
  assert.deepEqual(read('permit (principal, action, resource) when { {"Var": context.sender}.Var == "alice" };'), ['sender'], 'a read inside a record literal');
});

test('memoized decisions equal Cedar\'s own for every request, including ones that differ only in what no policy reads', async () => {
  const set = await compile(`
@id("docs-fetch") permit (principal, action, resource == Tool::"http.fetch") when { context.args has host && context.args.host == "docs.example.com" };
@id("late-forbid") forbid (principal, action, resource == Tool::"http.fetch") when { context.toolCallsLeft < 2 };
@id("channel-only") permit (principal, action, resource == Tool::"fs.write") when { context.channel == "console" && context.approval == "approved" };
`);
  const inputs: ToolCallRequestInput[] = [];
  for (const host of ['docs.example.com', 'evil.example.com']) {
    for (const toolCallsLeft of [1, 5, 9]) {
      for (const approval of ['none', 'approved']) {
        for (const senderIsOwner of [true, false]) {
          inputs.push({ tool: { name: 'http.fetch' }, args: { url: `https://${host}/x` }, toolCallsLeft, approval, senderIsOwner, sender: `s${toolCallsLeft}` });
        }
      }
    }
  }
  for (const channel of ['console', 'api']) {
    for (const approval of ['none', 'approved']) {
      for (const path of ['a.txt', 'b.txt']) inputs.push({ tool: { name: 'fs.write' }, args: { path, content: path }, channel, approval });
    }
  }
  for (const text of ['one', 'two', 'three']) inputs.push({ tool: { name: 'echo' }, args: { text }, principal: { type: 'Session', id: `ses_${text.length}`, agent: 'main' } });
  // Twice over: the second pass is answered from the memo.
  for (let pass = 0; pass < 2; pass++) {
    for (const input of inputs) {
      const request = toolCallRequest(input);
      assert.deepEqual(decideToolCall(request, set), decideToolCall(request, set, { memo: false }), `${JSON.stringify(input)} (pass ${pass})`);
    }
  }
  const memoized = set.engine.memo.size;
  assert.ok(memoized > 0 && memoized < inputs.length, `requests that differ only in unread fields share an entry: ${memoized} for ${inputs.length}`);
});

test('a memoized decision is a copy: changing what a caller got changes nothing remembered', async () => {
  const set = await compile('');
  const request = toolCallRequest({ tool: { name: 'echo' }, args: { text: 'hi' } });
  const first = decideToolCall(request, set);
  first.policies.push('tampered');
  first.reasons.length = 0;
  assert.deepEqual(decideToolCall(request, set), decideToolCall(request, set, { memo: false }));
});

test('a slice whose policies use context whole is never memoized', async () => {
  const set = await compile('@id("whole") permit (principal, action, resource == Tool::"fs.write") when { context == context };');
  const request = toolCallRequest({ tool: { name: 'fs.write' }, args: { path: 'a' } });
  assert.equal(decideToolCall(request, set).decision, 'allow');
  assert.equal(set.engine.memo.size, 0);
  // Other tools' slices (without that policy) still are.
  decideToolCall(toolCallRequest({ tool: { name: 'echo' }, args: { text: 'x' } }), set);
  assert.equal(set.engine.memo.size, 1);
});

test('requests that differ only in the principal, or in the tool\'s capabilities or risk, never share a remembered decision', async () => {
  const set = await compile(`
@id("alice-writes") permit (principal == Agent::"alice", action, resource == Tool::"fs.write");
@id("plain-plugin") permit (principal, action, resource == Tool::"plug") when { resource.capabilities.isEmpty() && resource.risk == "low" };
`);
  const inputs: ToolCallRequestInput[] = [
    { tool: { name: 'fs.write' }, args: { path: 'a' }, principal: { type: 'Agent', id: 'alice' } },
    { tool: { name: 'fs.write' }, args: { path: 'a' }, principal: { type: 'Agent', id: 'bob' } },
    { tool: { name: 'plug', capabilities: [], risk: 'low' } },
    { tool: { name: 'plug', capabilities: ['process'], risk: 'low' } },
    { tool: { name: 'plug', capabilities: [], risk: 'high' } },
  ];
  // Each request right after the one it must not be confused with: a shared entry would answer it.
  const got = inputs.map((input) => decideToolCall(toolCallRequest(input), set).decision);
  assert.deepEqual(got, ['allow', 'ask', 'allow', 'ask', 'ask']);
  for (const input of inputs) {
    const request = toolCallRequest(input);
    assert.deepEqual(decideToolCall(request, set), decideToolCall(request, set, { memo: false }), JSON.stringify(input));
  }
});

test('the same arguments in another workspace never share a remembered decision when a policy reads args', async () => {
  const set = await compile(`
@id("no-secrets") forbid (principal, action, resource) when { context.args has path && context.args.path like "secrets/*" };
@id("reads") permit (principal, action, resource == Tool::"fs.read");
`);
  const read = (workspace: string) => toolCallRequest({ tool: { name: 'fs.read' }, args: { path: '/srv/b/secrets/key' }, workspace });
  assert.equal(decideToolCall(read('/srv/a'), set).decision, 'allow');
  assert.deepEqual(decideToolCall(read('/srv/b'), set), decideToolCall(read('/srv/b'), set, { memo: false }));
  assert.equal(decideToolCall(read('/srv/b'), set).decision, 'deny');
});

test('a decision names the set that made it, also when an earlier set held the same slice', async () => {
  const echoOnly = '@id("echo-ok") permit (principal, action, resource == Tool::"echo");';
  const first = await compile(echoOnly);
  const second = await compile(`${echoOnly}\n@id("fetch-ok") permit (principal, action, resource == Tool::"http.fetch");`);
  assert.notEqual(first.hash, second.hash);
  const request = toolCallRequest({ tool: { name: 'echo' }, args: { text: 'hi' } });
  assert.equal(decideToolCall(request, first).policySetHash, first.hash);
  assert.deepEqual(decideToolCall(request, second), {
    decision: 'allow',
    policies: ['builtin.read-only', 'echo-ok'],
    reasons: ['Low-risk tools that only read files or memory are allowed', 'Permitted by policy "echo-ok"'],
    policySetHash: second.hash,
  });
});
