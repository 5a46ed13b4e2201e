import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, PalyraError, sha256Hex, type JsonValue } from '../base/index.ts';
import { toolContext } from '../../test/helpers/tool-context.ts';
import { createEchoTool } from './builtin/echo.ts';
import { createSleepTool } from './builtin/sleep.ts';
import { ToolRegistry } from './registry.ts';
import { DEFAULT_LIMITS, type ToolDefinition, type ToolResult } from './tool.ts';

/** A tool whose run is given by the test, counting its calls. */
function probe(name: string, run: ToolDefinition['run'], limits = DEFAULT_LIMITS): ToolDefinition & { calls: number } {
  const tool = {
    name,
    description: `Probe ${name}`,
    inputSchema: { type: 'object', properties: { n: { type: 'integer', minimum: 0 } }, additionalProperties: false },
    capabilities: [],
    risk: 'low',
    parallelSafe: true,
    limits,
    calls: 0,
    run(input: JsonValue, context: Parameters<ToolDefinition['run']>[1]) {
      tool.calls++;
      return run(input, context);
    },
  } satisfies ToolDefinition & { calls: number };
  return tool;
}

const withoutTiming = (r: ToolResult): Omit<ToolResult, 'durationMs'> => {
  const { durationMs, ...rest } = r;
  assert.ok(durationMs >= 0);
  return rest;
};

test('list gives plain data sorted by name, with the input cap filled in', () => {
  const registry = new ToolRegistry();
  registry.register(createSleepTool());
  registry.register(createEchoTool());
  const list = registry.list();
  assert.deepEqual(list.map((t) => t.name), ['echo', 'sleep']);
  assert.deepEqual(list[0], {
    name: 'echo',
    description: 'Return the given text unchanged.',
    inputSchema: { type: 'object', properties: { text: { type: 'string', maxLength: 65536 } }, required: ['text'], additionalProperties: false },
    capabilities: [],
    risk: 'low',
    parallelSafe: true,
    limits: { timeoutMs: 10_000, maxOutputBytes: 1024 * 1024, maxInputBytes: 256 * 1024 },
  });
  // Plain data: mutating it changes nothing in the registry.
  (list[0]?.inputSchema as Record<string, JsonValue>)['type'] = 'string';
  assert.equal(registry.list()[0]?.inputSchema['type'], 'object');
  assert.equal(registry.get('echo')?.name, 'echo');
  assert.equal(registry.get('nope'), undefined);
});

test('register refuses bad names, duplicates, bad limits and schemas with unknown keywords', () => {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  const refused = (tool: ToolDefinition<never>, message: string) =>
    assert.throws(() => registry.register(tool), (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_INVALID_ARGUMENT' && e.message === message);
  const ok = probe('ok', async () => null);
  refused({ ...ok, name: 'Bad Name' }, 'Cannot register tool "Bad Name": names are lowercase dotted words such as "fs.read"');
  refused(createEchoTool(), 'Cannot register tool "echo": a tool of that name is registered already');
  refused({ ...ok, limits: { ...DEFAULT_LIMITS, timeoutMs: 0 } }, 'Cannot register tool "ok": limits.timeoutMs must be a positive integer, got 0');
  refused({ ...ok, inputSchema: { type: 'object', propertys: {} } }, 'Cannot register tool "ok": its input schema is invalid: strict mode: unknown keyword: "propertys"');
});

test('two tools may declare the same schema $id', () => {
  const registry = new ToolRegistry();
  registry.register({ ...probe('a', async () => null), inputSchema: { $id: 'https://example.test/input.json', type: 'object' } });
  registry.register({ ...probe('b', async () => null), inputSchema: { $id: 'https://example.test/input.json', type: 'object' } });
  assert.equal(registry.list().length, 2);
});

test('an unknown tool is a result, not an exception', async () => {
  const result = await new ToolRegistry().invoke('nope', {}, toolContext());
  const error = { code: 'PALYRA_TOOL_NOT_FOUND', message: 'Tool "nope" is not registered' };
  assert.deepEqual(withoutTiming(result), { ok: false, tool: 'nope', error, receipt: sha256Hex(canonicalJson({ tool: 'nope', ok: false, error })) });
});

test('invalid input names the field and runs nothing', async () => {
  const registry = new ToolRegistry();
  const tool = probe('p', async () => 'ran');
  registry.register(tool);
  registry.register(createEchoTool());
  const context = toolContext();
  const cases: [string, unknown, string][] = [
    ['echo', {}, 'Invalid input for "echo": /text is required'],
    ['echo', { text: 42 }, 'Invalid input for "echo": /text must be string'],
    ['echo', { text: 'x', extra: 1 }, 'Invalid input for "echo": /extra is not allowed'],
    ['echo', 'text', 'Invalid input for "echo": input must be object'],
    ['echo', null, 'Invalid input for "echo": input must be object'],
    ['echo', { text: 'x'.repeat(70_000) }, 'Invalid input for "echo": /text must NOT have more than 65536 characters'],
    ['p', { n: -1 }, 'Invalid input for "p": /n must be >= 0'],
    ['p', { n: 1.5 }, 'Invalid input for "p": /n must be integer'],
    ['p', { n: 'x'.repeat(300_000) }, 'Invalid input for "p": input is 300008 bytes; the limit is 262144 bytes'],
    ['p', { n: undefined, f: () => 1 }, 'Invalid input for "p": input is not JSON: Cannot encode $.f: a function is not JSON'],
  ];
  for (const [name, input, message] of cases) {
    const result = await registry.invoke(name, input, context);
    assert.deepEqual(result.ok ? null : result.error, { code: 'PALYRA_TOOL_INPUT_INVALID', message }, message);
  }
  assert.equal(tool.calls, 0);
});

test('an enum violation lists the allowed values', async () => {
  const registry = new ToolRegistry();
  registry.register({ ...probe('m', async () => null), inputSchema: { type: 'object', properties: { mode: { enum: ['a', 'b'] } } } });
  const result = await registry.invoke('m', { mode: 'c' }, toolContext());
  assert.deepEqual(result.ok ? null : result.error.message, 'Invalid input for "m": /mode must be one of "a", "b"');
});

test('a timeout aborts the tool and reports PALYRA_TOOL_TIMEOUT', async () => {
  const registry = new ToolRegistry();
  let sawAbort = false;
  registry.register(
    probe('slow', (_input, context) => new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => ((sawAbort = true), reject(new Error('stopped'))))), {
      ...DEFAULT_LIMITS,
      timeoutMs: 50,
    }),
  );
  const result = await registry.invoke('slow', {}, toolContext());
  assert.deepEqual(result.ok ? null : result.error, { code: 'PALYRA_TOOL_TIMEOUT', message: 'Tool "slow" timed out after 50 ms' });
  assert.ok(sawAbort);
  assert.ok(result.durationMs >= 45);
});

test('the caller aborting cancels the call, before or during it', async () => {
  const registry = new ToolRegistry();
  const sleep = createSleepTool();
  registry.register(sleep);
  const before = new AbortController();
  before.abort();
  const early = await registry.invoke('sleep', { ms: 10_000 }, toolContext({ signal: before.signal }));
  assert.deepEqual(early.ok ? null : early.error, { code: 'PALYRA_TOOL_CANCELLED', message: 'Tool "sleep" was cancelled before it started' });

  const during = new AbortController();
  setTimeout(() => during.abort(), 30);
  const result = await registry.invoke('sleep', { ms: 10_000 }, toolContext({ signal: during.signal }));
  assert.deepEqual(result.ok ? null : result.error, { code: 'PALYRA_TOOL_CANCELLED', message: 'Tool "sleep" was cancelled' });
  assert.ok(result.durationMs < 5_000);
});

test('a tool that ignores its signal is abandoned after the grace', async () => {
  const registry = new ToolRegistry({ abortGraceMs: 20 });
  registry.register(probe('stubborn', () => new Promise((resolve) => setTimeout(() => resolve('late'), 1_000)), { ...DEFAULT_LIMITS, timeoutMs: 20 }));
  const result = await registry.invoke('stubborn', {}, toolContext());
  assert.equal(result.ok ? null : result.error.code, 'PALYRA_TOOL_TIMEOUT');
  assert.ok(result.durationMs < 900, `returned after ${result.durationMs} ms`);
});

test('tool failures become results: PalyraError codes, other throws, non-JSON output', async () => {
  const registry = new ToolRegistry();
  registry.register(probe('forbidden', async () => Promise.reject(new PalyraError('PALYRA_TOOL_FORBIDDEN', 'Path "x" is refused: no'))));
  registry.register(probe('io', async () => Promise.reject(new PalyraError('PALYRA_IO', 'Cannot read "x": EIO'))));
  registry.register(probe('sync', () => {
    throw new TypeError('boom');
  }));
  registry.register(probe('nan', async () => ({ n: Number.NaN })));
  const context = toolContext();
  const errors = await Promise.all(['forbidden', 'io', 'sync', 'nan'].map(async (n) => {
    const r = await registry.invoke(n, {}, context);
    return r.ok ? null : r.error;
  }));
  assert.deepEqual(errors, [
    { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Path "x" is refused: no' },
    { code: 'PALYRA_TOOL_FAILED', message: 'Cannot read "x": EIO' },
    { code: 'PALYRA_TOOL_FAILED', message: 'Tool "sync" failed: boom' },
    { code: 'PALYRA_TOOL_FAILED', message: 'Tool "nan" returned output that is not JSON: Cannot encode $.n: NaN is not a finite number' },
  ]);
});

test('output past the tool\'s cap is refused with PALYRA_TOOL_LIMIT_EXCEEDED', async () => {
  const registry = new ToolRegistry();
  registry.register(probe('big', async () => ({ text: 'x'.repeat(100) }), { ...DEFAULT_LIMITS, maxOutputBytes: 64 }));
  const result = await registry.invoke('big', {}, toolContext());
  assert.deepEqual(result.ok ? null : result.error, { code: 'PALYRA_TOOL_LIMIT_EXCEEDED', message: 'Output of tool "big" is 111 bytes; the limit is 64 bytes' });
});

test('receipts hash the canonical {tool, ok, output} and are stable for identical output', async () => {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  registry.register(probe('obj', async () => ({ b: [1, 'é'], a: { z: null, y: true } })));
  const context = toolContext();
  const first = await registry.invoke('echo', { text: 'héllo "there"' }, context);
  const second = await registry.invoke('echo', { text: 'héllo "there"' }, context);
  const other = await registry.invoke('echo', { text: 'bye' }, context);
  assert.deepEqual(withoutTiming(first), {
    ok: true,
    tool: 'echo',
    output: { text: 'héllo "there"' },
    receipt: sha256Hex(canonicalJson({ tool: 'echo', ok: true, output: { text: 'héllo "there"' } })),
  });
  assert.equal(second.receipt, first.receipt);
  assert.notEqual(other.receipt, first.receipt);
  const obj = await registry.invoke('obj', {}, context);
  assert.equal(obj.receipt, sha256Hex(canonicalJson({ tool: 'obj', ok: true, output: { a: { y: true, z: null }, b: [1, 'é'] } })));
});

test('unregister removes a tool: later calls are PALYRA_TOOL_NOT_FOUND, and the name can be registered again', async () => {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  assert.equal(registry.unregister('echo'), true);
  assert.equal(registry.unregister('echo'), false);
  assert.deepEqual(registry.list(), []);
  const result = await registry.invoke('echo', { text: 'x' }, toolContext());
  assert.deepEqual([result.ok, result.ok ? null : result.error.code], [false, 'PALYRA_TOOL_NOT_FOUND']);
  registry.register(createEchoTool());
  assert.deepEqual(registry.list().map((t) => t.name), ['echo']);
});

test('a schema referring to one definition many times compiles it once, not once per $ref', () => {
  const registry = new ToolRegistry();
  registry.register(probe('warm.up', async () => null));
  const big = { type: 'object', properties: Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, { type: 'string', maxLength: 5 }])) };
  const compileMs = (refs: number): number => {
    const tool = { ...probe(`refs.r${refs}`, async () => null), inputSchema: { $defs: { big }, allOf: Array.from({ length: refs }, () => ({ $ref: '#/$defs/big' })) } };
    const started = performance.now();
    registry.register(tool as ToolDefinition<never>);
    return performance.now() - started;
  };
  const once = compileMs(1);
  const many = compileMs(40);
  // Ajv inlines a referenced schema at each $ref by default: 40 refs cost ~40 compiles
  // (a few hundred JSON values could stall the event loop for seconds).
  assert.ok(many < once * 5 + 50, `40 refs took ${many.toFixed(0)} ms, one took ${once.toFixed(0)} ms`);
});
