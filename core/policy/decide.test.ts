import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinTools } from './builtin-tools.ts';
import type { CedarModule } from './cedar-runtime.ts';
import { compilePolicySet, type CompiledPolicySet } from './compile.ts';
import { decideToolCall } from './decide.ts';
import { toCedarRequest } from './cedar-request.ts';
import { toolCallRequest, type ToolCallRequestInput } from './request.ts';
import { POLICY_CAPABILITIES, POLICY_SCHEMA } from './schema.ts';

const READ_ONLY = 'builtin.read-only';
const APPROVED = 'builtin.approved-sensitive';
const NON_OWNER = 'builtin.non-owner-forbidden';

async function compile(files: { file: string; text: string }[] = []): Promise<CompiledPolicySet> {
  const result = await compilePolicySet(
    files.map((f) => ({ ...f, origin: { type: 'file', path: f.file } })),
    { validateRequests: true },
  );
  if (result.type !== 'ok') throw new Error(JSON.stringify(result.problems));
  return result.set;
}

function decide(set: CompiledPolicySet, input: ToolCallRequestInput) {
  const { decision, policies } = decideToolCall(toolCallRequest(input), set);
  return { decision, policies };
}

test('the default set decides every built-in tool, for the owner and for anyone else', async () => {
  const set = await compile();
  // [tool, owner's decision, owner's policies, non-owner's decision, non-owner's policies]
  const table: [string, string, string[], string, string[]][] = [
    ['echo', 'allow', [READ_ONLY], 'allow', [READ_ONLY]],
    ['sleep', 'allow', [READ_ONLY], 'allow', [READ_ONLY]],
    ['fs.read', 'allow', [READ_ONLY], 'allow', [READ_ONLY]],
    ['fs.list', 'allow', [READ_ONLY], 'allow', [READ_ONLY]],
    ['fs.write', 'ask', [APPROVED], 'ask', [APPROVED]],
    ['process.run', 'ask', [APPROVED], 'deny', [NON_OWNER]],
    ['http.fetch', 'ask', [APPROVED], 'ask', [APPROVED]],
    ['plugin.run', 'ask', [APPROVED], 'ask', [APPROVED]],
    ['memory.put', 'ask', [APPROVED], 'ask', [APPROVED]],
    ['memory.search', 'allow', [READ_ONLY], 'allow', [READ_ONLY]],
    ['memory.delete', 'ask', [APPROVED], 'ask', [APPROVED]],
    ['memory.remember', 'ask', [APPROVED], 'ask', [APPROVED]],
  ];
  assert.deepEqual(
    table.map(([name]) => name).sort(),
    builtinTools().map((t) => t.name).sort(),
    'the table covers every built-in tool',
  );
  for (const [name, ownerDecision, ownerPolicies, otherDecision, otherPolicies] of table) {
    assert.deepEqual(decide(set, { tool: { name }, senderIsOwner: true }), { decision: ownerDecision, policies: ownerPolicies }, `${name} (owner)`);
    assert.deepEqual(decide(set, { tool: { name }, senderIsOwner: false }), { decision: otherDecision, policies: otherPolicies }, `${name} (not owner)`);
  }
});

test('a low-risk tool with any sensitive capability still needs an approval; only reading capabilities pass', async () => {
  const set = await compile();
  const decisions = POLICY_CAPABILITIES.map((capability) => [capability, decide(set, { tool: { name: 'ext.tool', capabilities: [capability], risk: 'low' } }).decision]);
  assert.deepEqual(Object.fromEntries(decisions), {
    fs_read: 'allow',
    memory: 'allow',
    fs_write: 'ask',
    process: 'ask',
    network: 'ask',
    secrets: 'ask',
    plugin: 'ask',
    remote: 'ask',
  });
  assert.deepEqual(decide(set, { tool: { name: 'ext.tool', capabilities: ['fs_read', 'network'], risk: 'low' } }), { decision: 'ask', policies: [APPROVED] });
});

test('an approval allows what was ask, but never what a forbid denies', async () => {
  const set = await compile();
  assert.deepEqual(decide(set, { tool: { name: 'fs.write' }, approval: 'approved' }), { decision: 'allow', policies: [APPROVED] });
  assert.deepEqual(decide(set, { tool: { name: 'process.run' }, senderIsOwner: false, approval: 'approved' }), { decision: 'deny', policies: [NON_OWNER] });
  assert.deepEqual(decide(set, { tool: { name: 'vault.get', capabilities: ['secrets'], risk: 'high' }, senderIsOwner: false }), {
    decision: 'deny',
    policies: [NON_OWNER],
  });
  assert.deepEqual(decide(set, { tool: { name: 'echo' }, toolCallsLeft: 0 }), { decision: 'deny', policies: ['builtin.budget-exhausted'] });
});

test('a whole decision carries reasons and the set hash', async () => {
  const set = await compile();
  assert.deepEqual(decideToolCall(toolCallRequest({ tool: { name: 'fs.write' }, principal: { type: 'Session', id: 's1', agent: 'main' } }), set), {
    decision: 'ask',
    policies: [APPROVED],
    reasons: [
      'Tool "fs.write" needs an approval for Session::"s1"',
      'Tools that run processes, use the network, write files, touch secrets, run plugins or remote workers, or carry medium or high risk need an approval',
    ],
    policySetHash: set.hash,
  });
  const unknown = decideToolCall(toolCallRequest({ tool: { name: 'odd', capabilities: ['memory'], risk: 'medium' }, approval: 'approved', toolCallsLeft: 3 }), set);
  assert.deepEqual(unknown.decision, 'allow');
});

test('deny by default names no policy; a permit without @reason is named by id', async () => {
  const set = await compile([{ file: 'team.cedar', text: 'permit (principal == Operator::"ann", action, resource == Tool::"http.fetch");' }]);
  assert.deepEqual(decideToolCall(toolCallRequest({ tool: { name: 'http.fetch' }, principal: { type: 'Operator', id: 'ann' } }), set), {
    decision: 'allow',
    policies: ['team.cedar#1'],
    reasons: ['Permitted by policy "team.cedar#1"'],
    policySetHash: set.hash,
  });
  const strict = await compile([{ file: 'strict.cedar', text: '@id("no-fs") forbid (principal, action, resource) when { resource.capabilities.contains("fs_write") };' }]);
  assert.deepEqual(decideToolCall(toolCallRequest({ tool: { name: 'fs.write' }, approval: 'approved' }), strict).reasons, ['Forbidden by policy "no-fs"']);
});

test('a forbid of unapproved calls makes them ask, since an approval lifts it', async () => {
  const set = await compile([
    {
      file: 'net.cedar',
      text: `@id("fetch-docs") permit (principal, action, resource == Tool::"http.fetch") when { context.args has host && context.args.host == "docs.example.com" };
@id("net-needs-approval") forbid (principal, action, resource) when { context.approval != "approved" && resource.capabilities.contains("network") };`,
    },
  ]);
  const fetch = { tool: { name: 'http.fetch' }, args: { url: 'https://DOCS.example.com/a' } };
  assert.deepEqual(decide(set, fetch), { decision: 'ask', policies: ['builtin.approved-sensitive', 'fetch-docs'] });
  assert.deepEqual(decide(set, { ...fetch, approval: 'approved' }), { decision: 'allow', policies: ['builtin.approved-sensitive', 'fetch-docs'] });
});

test('requests as built match the schema (the hot path skips this check)', async () => {
  const set = await compile();
  const { cedar } = set.engine;
  const inputs: ToolCallRequestInput[] = [
    { tool: { name: 'process.run' }, args: { argv: ['git', 'status'] }, principal: { type: 'Session', id: 's', agent: 'a' }, sender: 'tg:1', workspace: '/w' },
    { tool: { name: 'http.fetch' }, args: { url: 'not a url' }, principal: { type: 'Sender', id: 'tg:2' } },
    { tool: { name: 'plugin.run' }, args: { plugin: 'p', nested: { a: [1, null] } }, principal: { type: 'Operator', id: 'root' } },
  ];
  for (const input of inputs) {
    const r = toCedarRequest(toolCallRequest(input));
    const answer = cedar.isAuthorized({ ...r, schema: POLICY_SCHEMA, validateRequest: true, policies: { staticPolicies: {} } });
    assert.equal(answer.type, 'success', JSON.stringify(answer));
  }
  assert.deepEqual(toCedarRequest(toolCallRequest(inputs[0] as ToolCallRequestInput)).context.args, { executable: 'git', executableName: 'git' });
  assert.deepEqual(toCedarRequest(toolCallRequest({ tool: { name: 'http.fetch' }, args: { url: 'http://0x7f000001:80/' } })).context.args, {
    url: 'http://0x7f000001:80/',
    host: '127.0.0.1',
  });
});

test('slicing by tool gives the same answers as the whole set evaluated at once', async () => {
  const texts = [
    '@id("p1") permit (principal in Agent::"a", action, resource == Tool::"fs.write") when { context.channel == "x" };',
    '@id("f1") forbid (principal, action, resource == Tool::"echo") when { context.sender == "bad" };',
    '@id("p2") permit (principal, action, resource in Tool::"http.fetch");',
  ];
  const set = await compile([{ file: 'ops.cedar', text: texts.join('\n') }]);
  const { cedar, byId } = set.engine;
  const all = Object.fromEntries([...byId.values()].map((p) => [p.id, p.text]));
  const inputs: ToolCallRequestInput[] = [
    { tool: { name: 'fs.write' }, principal: { type: 'Session', id: 's', agent: 'a' }, channel: 'x' },
    { tool: { name: 'fs.write' }, channel: 'x' },
    { tool: { name: 'echo' }, sender: 'bad' },
    { tool: { name: 'echo' }, sender: 'good' },
    { tool: { name: 'http.fetch' }, senderIsOwner: false },
    { tool: { name: 'process.run' } },
  ];
  for (const input of inputs) {
    const request = toolCallRequest(input);
    const whole = cedar.isAuthorized({ ...toCedarRequest(request), policies: { staticPolicies: all } });
    assert.equal(whole.type, 'success');
    if (whole.type !== 'success') continue;
    const sliced = decideToolCall(request, set);
    assert.deepEqual(
      { decision: sliced.decision === 'allow' ? 'allow' : 'deny', policies: sliced.decision === 'ask' ? [] : sliced.policies },
      { decision: whole.response.decision, policies: [...whole.response.diagnostics.reason].sort() },
      JSON.stringify(input),
    );
  }
});

test('a host is matched without its trailing dot: a fully qualified spelling does not slip past a forbid', async () => {
  const set = await compile([
    {
      file: 'ops.cedar',
      text: `@id("ops.no-evil") forbid (principal, action == Action::"tool.invoke", resource == Tool::"http.fetch") when { context.args has host && context.args.host == "evil.example" };
@id("ops.fetch-ok") permit (principal, action == Action::"tool.invoke", resource == Tool::"http.fetch");`,
    },
  ]);
  const fetch = (url: string) => decide(set, { tool: { name: 'http.fetch' }, args: { url } });
  for (const url of ['https://evil.example/x', 'https://EVIL.example./x', 'https://evil.example%2e/x', 'https://evil.example../x', 'https://evil.example.:8443/x']) {
    assert.deepEqual(fetch(url), { decision: 'deny', policies: ['ops.no-evil'] }, url);
  }
  assert.deepEqual(fetch('https://good.example./x'), { decision: 'allow', policies: ['ops.fetch-ok'] });
  assert.deepEqual(toCedarRequest(toolCallRequest({ tool: { name: 'http.fetch' }, args: { url: 'https://EVIL.example./x' } })).context.args, { url: 'https://EVIL.example./x', host: 'evil.example' });
});

test('a path and an executable are judged in one spelling: other spellings do not slip past a forbid', async () => {
  const set = await compile([
    {
      file: 'ops.cedar',
      text: `@id("ops.no-secrets") forbid (principal, action == Action::"tool.invoke", resource) when { context.args has path && context.args.path like "secrets/*" };
@id("ops.no-cat") forbid (principal, action == Action::"tool.invoke", resource == Tool::"process.run") when { context.args has executableName && context.args.executableName == "cat" };
@id("ops.ok") permit (principal, action == Action::"tool.invoke", resource);`,
    },
  ]);
  const read = (path: string) => decide(set, { tool: { name: 'fs.read' }, args: { path }, workspace: '/srv/ws' });
  for (const path of ['secrets/key', './secrets/key', 'secrets//key', 'secrets/./key', '/srv/ws/secrets/key', '/srv/ws//secrets/key/', './/secrets/key']) {
    assert.deepEqual(read(path), { decision: 'deny', policies: ['ops.no-secrets'] }, path);
  }
  for (const path of ['notes/secrets/key', '/srv/ws2/secrets/key', 'secrets']) {
    assert.deepEqual(read(path), { decision: 'allow', policies: [READ_ONLY, 'ops.ok'] }, path);
  }
  const args = (path: string) => toCedarRequest(toolCallRequest({ tool: { name: 'fs.read' }, args: { path }, workspace: '/srv/ws' })).context.args;
  assert.deepEqual(args('/srv/ws'), { path: '.' });
  assert.deepEqual(args('./'), { path: '.' });
  // Left as given: the tools refuse these outright, and a policy testing for ".." still sees it.
  assert.deepEqual(args('secrets/../secrets/key'), { path: 'secrets/../secrets/key' });
  assert.deepEqual(args('/etc/passwd'), { path: '/etc/passwd' });

  const run = (argv: string[]) => decide(set, { tool: { name: 'process.run' }, args: { argv } });
  for (const exe of ['cat', '/usr/bin/cat', '/bin/cat', './cat']) assert.deepEqual(run([exe, 'x']), { decision: 'deny', policies: ['ops.no-cat'] }, exe);
  assert.deepEqual(run(['/usr/bin/catalog']), { decision: 'allow', policies: ['ops.ok'] });
});

test('an engine failure is a deny naming it (fail closed), and is not remembered', async () => {
  // As the daemon compiles: without request validation, so decisions are memoized.
  const compiled = await compilePolicySet([]);
  if (compiled.type !== 'ok') throw new Error(JSON.stringify(compiled.problems));
  const set = compiled.set;
  const failing = { statefulIsAuthorized: () => ({ type: 'failure', errors: [{ message: 'wasm trapped', help: null }] }) } as unknown as CedarModule;
  // The same set, memo included, whose engine fails on every call.
  const broken: CompiledPolicySet = { ...set, engine: { ...set.engine, cedar: failing } };
  const request = toolCallRequest({ tool: { name: 'echo' }, args: { text: 'hi' } });
  assert.deepEqual(decideToolCall(request, broken), {
    decision: 'deny',
    policies: [],
    reasons: ['No policy permits tool "echo" for Agent::"main" (deny by default)', 'Cedar could not evaluate the request: wasm trapped'],
    policySetHash: set.hash,
  });
  // A failure may come from anything in the request; once the engine answers again, so does the decision.
  assert.equal(set.engine.memo.size, 0);
  assert.deepEqual(decideToolCall(request, set).decision, 'allow');
});
