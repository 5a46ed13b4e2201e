import assert from 'node:assert/strict';
import { EventEmitter, getEventListeners } from 'node:events';
import { test } from 'node:test';
import type WebSocket from 'ws';
import type { JsonValue } from '../../base/index.ts';
import { ToolRegistry, type ToolDefinition } from '../../tools/index.ts';
import { remoteToolDefinition, withoutCostlyKeywords } from './remote-tool.ts';
import { WorkerConnection } from './worker-connection.ts';
import { WORKER_LIMITS, type WorkerToolSpec } from './worker-protocol.ts';

test('the daemon checks worker inputs without the worker\'s regular expressions (the worker checks them)', () => {
  const schema = {
    type: 'object',
    properties: {
      path: { type: 'string', maxLength: 10, pattern: '^(a+)+$' },
      env: { type: 'object', propertyNames: { pattern: '^(x+x+)+y$' }, additionalProperties: { type: 'string' } },
      tags: { type: 'object', patternProperties: { '^(a|a)*$': { type: 'string' } }, additionalProperties: false },
    },
    required: ['path'],
    additionalProperties: false,
  };
  assert.deepEqual(withoutCostlyKeywords(schema), {
    type: 'object',
    properties: {
      path: { type: 'string', maxLength: 10 },
      env: { type: 'object', propertyNames: {}, additionalProperties: { type: 'string' } },
      tags: { type: 'object' },
    },
    required: ['path'],
    additionalProperties: false,
  });
  assert.deepEqual(withoutCostlyKeywords({ enum: ['pattern'], const: { pattern: 1 } }), { enum: ['pattern'], const: { pattern: 1 } }, 'only string patterns are schema keywords');
  // Names the author chose are not keywords: properties called "patternProperties" or
  // "pattern" keep their schemas, and data under const/enum is copied as it is.
  const named = {
    type: 'object',
    properties: { patternProperties: { type: 'integer' }, pattern: { type: 'string', maxLength: 3 }, additionalProperties: { type: 'boolean' } },
    additionalProperties: false,
  };
  assert.deepEqual(withoutCostlyKeywords(named), named);
  assert.deepEqual(withoutCostlyKeywords({ const: { pattern: 'x' }, enum: [{ patternProperties: {} }] }), { const: { pattern: 'x' }, enum: [{ patternProperties: {} }] });
});

test('the daemon checks worker inputs without unevaluatedProperties/unevaluatedItems, whose compile is superlinear', () => {
  const schema = {
    type: 'object',
    properties: { list: { type: 'array', prefixItems: [{ type: 'string' }], unevaluatedItems: false }, unevaluatedProperties: { type: 'string' } },
    allOf: [{ properties: { a: true } }],
    unevaluatedProperties: false,
  };
  assert.deepEqual(withoutCostlyKeywords(schema), {
    type: 'object',
    properties: { list: { type: 'array', prefixItems: [{ type: 'string' }] }, unevaluatedProperties: { type: 'string' } },
    allOf: [{ properties: { a: true } }],
  });
});

test('the daemon checks worker inputs without uniqueItems, whose check is quadratic in the input (the worker checks it)', async () => {
  const schema = {
    type: 'object',
    properties: { ids: { type: 'array', items: { type: 'integer' }, uniqueItems: true, maxItems: 100_000 }, uniqueItems: { type: 'boolean' } },
    const: { uniqueItems: true },
    uniqueItems: false,
  };
  assert.deepEqual(withoutCostlyKeywords(schema), {
    type: 'object',
    properties: { ids: { type: 'array', items: { type: 'integer' }, maxItems: 100_000 }, uniqueItems: { type: 'boolean' } },
    const: { uniqueItems: true },
  });
  // On the daemon, a model's array with repeated items is not compared pairwise: it reaches
  // the worker, whose own registry checks the whole schema.
  const connection = new WorkerConnection(Object.assign(new EventEmitter(), { OPEN: 1, readyState: 1, send: () => undefined, close: () => undefined, terminate: () => undefined }) as unknown as WebSocket, 'gpu-1', {
    helloTimeoutMs: 60_000,
    events: { onHello: () => undefined, onClosed: () => undefined },
    stillAuthorized: () => 'authorized',
  });
  const spec: WorkerToolSpec = { name: 'tag', description: 'Tags items', inputSchema: { type: 'object', properties: { ids: { type: 'array', items: { type: 'integer' }, uniqueItems: true } }, required: ['ids'] }, capabilities: [], risk: 'low', parallelSafe: true, limits: { timeoutMs: 1_000, maxOutputBytes: 1_000 } };
  const registry = new ToolRegistry();
  registry.register({ ...remoteToolDefinition(connection, spec, { networkGraceMs: 0 }), run: async () => 'reached the worker' } as ToolDefinition<never>);
  const context = { workspace: '/nonexistent', stateDir: '/nonexistent', signal: new AbortController().signal, sessionId: null };
  const results = await Promise.all([{ ids: [1, 1] }, { ids: Array.from({ length: 60_000 }, () => 7) }, { ids: ['x'] }].map((input) => registry.invoke('worker.gpu-1.tag', input, context)));
  assert.deepEqual(results.map((r) => (r.ok ? r.output : r.error.message)), ['reached the worker', 'reached the worker', 'Invalid input for "worker.gpu-1.tag": /ids/0 must be integer']);
  connection.drop(1000, 'test over');
});

test('input the protocol cannot carry fails just that call, before it is pending or sent', async () => {
  const sent: Uint8Array[] = [];
  const ws = Object.assign(new EventEmitter(), { OPEN: 1, readyState: 1, send: (bytes: Uint8Array) => sent.push(bytes), close: () => undefined, terminate: () => undefined });
  const connection = new WorkerConnection(ws as unknown as WebSocket, 'gpu-1', { helloTimeoutMs: 60_000, events: { onHello: () => undefined, onClosed: () => undefined }, stillAuthorized: () => 'authorized' });
  let deep: JsonValue = { leaf: 1 };
  for (let i = 0; i < WORKER_LIMITS.maxJsonDepth; i++) deep = { d: deep }; // its leaf value is 65 levels down
  const signal = new AbortController().signal;
  await assert.rejects(connection.call('store', deep, { timeoutMs: 1_000, signal }), {
    code: 'PALYRA_TOOL_INPUT_INVALID',
    message: 'Input for "store" on worker "gpu-1" cannot be sent: it must be plain JSON nested at most 64 deep',
  });
  assert.deepEqual([sent.length, getEventListeners(signal, 'abort').length, connection.open], [0, 0, true]);
  // One level less is carried.
  const shallower = (deep as { d: JsonValue }).d;
  const carried = connection.call('store', shallower, { timeoutMs: 1_000, signal });
  assert.deepEqual([sent.length, getEventListeners(signal, 'abort').length], [1, 1]);
  connection.drop(1000, 'test over');
  await assert.rejects(carried, { code: 'PALYRA_TOOL_WORKER_GONE' });
  assert.equal(getEventListeners(signal, 'abort').length, 0);
});
