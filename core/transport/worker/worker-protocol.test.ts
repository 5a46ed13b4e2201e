import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { createEchoTool, ToolRegistry } from '../../tools/index.ts';
import { backoffDelay } from './worker-backoff.ts';
import { parseHubFrame, parseWorkerFrame } from './worker-frame-parse.ts';
import { helloFor, workerUrl } from './worker-hello.ts';
import { closeReason, encodeFrame, WORKER_LIMITS, type HubFrame, type WorkerFrame } from './worker-protocol.ts';

const echoSpec = () => helloFor(registryWith(createEchoTool()), 'gpu-1').tools[0];

function registryWith(...tools: Parameters<ToolRegistry['register']>[0][]): ToolRegistry {
  const r = new ToolRegistry();
  for (const t of tools) r.register(t);
  return r;
}

function refusedWorker(value: unknown, message: string): void {
  assert.throws(() => parseWorkerFrame(value instanceof Uint8Array ? value : encode(value)), { name: 'PalyraError', code: 'PALYRA_INVALID_ARGUMENT', message: `Invalid worker frame: ${message}` });
}

test('every frame survives an encode/parse round trip unchanged', () => {
  const workerFrames: WorkerFrame[] = [
    helloFor(registryWith(createEchoTool()), 'gpu-1'),
    { type: 'hello', protocol: 1, worker: null, tools: [] },
    { type: 'result', callId: 'c1', ok: true, output: { text: 'hi', n: [1, 2.5, null, true] } },
    { type: 'result', callId: 'c2', ok: false, error: { code: 'PALYRA_TOOL_TIMEOUT', message: 'Tool "echo" timed out' } },
    { type: 'pong', nonce: 7 },
  ];
  for (const f of workerFrames) assert.deepEqual(parseWorkerFrame(encodeFrame(f)), f);
  const hubFrames: HubFrame[] = [
    { type: 'registered', worker: 'gpu-1', tools: ['worker.gpu-1.echo'], heartbeatMs: 15_000 },
    { type: 'refused', code: 'PALYRA_INVALID_ARGUMENT', message: 'no' },
    { type: 'invoke', callId: 'c1', tool: 'echo', input: { text: 'x' }, timeoutMs: 10_000 },
    { type: 'cancel', callId: 'c1' },
    { type: 'ping', nonce: 3 },
  ];
  for (const f of hubFrames) assert.deepEqual(parseHubFrame(encodeFrame(f)), f);
});

test('hello describes the registry\'s tools as plain data with clamped limits', () => {
  assert.deepEqual(echoSpec(), {
    name: 'echo',
    description: 'Return the given text unchanged.',
    inputSchema: { type: 'object', properties: { text: { type: 'string', maxLength: 65536 } }, required: ['text'], additionalProperties: false },
    capabilities: [],
    risk: 'low',
    parallelSafe: true,
    limits: { timeoutMs: 10_000, maxOutputBytes: 1024 * 1024, maxInputBytes: 256 * 1024 },
  });
});

test('malformed frames are refused with a sentence naming the problem', () => {
  refusedWorker(new Uint8Array([0xc1]), 'not msgpack: Unrecognized type byte: 0xc1');
  refusedWorker([1, 2], 'frame must be a map');
  refusedWorker({ type: 'nope' }, 'unknown type "nope"');
  refusedWorker({ type: 'pong' }, 'nonce is required');
  refusedWorker({ type: 'pong', nonce: 1, extra: true }, 'extra is not a known field');
  refusedWorker({ type: 'pong', nonce: -1 }, `nonce must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}`);
  refusedWorker({ type: 'result', callId: 'c 1', ok: true, output: 1 }, 'callId "c 1" does not match /^[A-Za-z0-9_.-]+$/');
  refusedWorker({ type: 'result', callId: 'c1', ok: true, output: new Uint8Array([1]) }, 'output must be plain JSON nested at most 64 deep');
  refusedWorker({ type: 'result', callId: 'c1', ok: true, output: new Date(0) }, 'output must be plain JSON nested at most 64 deep');
  let deep: unknown = 1;
  for (let i = 0; i < 70; i++) deep = [deep];
  refusedWorker({ type: 'result', callId: 'c1', ok: true, output: deep }, 'output must be plain JSON nested at most 64 deep');
  refusedWorker({ type: 'result', callId: 'c1', ok: 'yes', error: { code: 'X', message: 'm' } }, 'ok must be a boolean');
  refusedWorker({ type: 'result', callId: 'c1', ok: false, error: { code: 'lower', message: 'm' } }, 'code "lower" does not match /^[A-Z][A-Z0-9_]*$/');
});

test('hello is checked tool by tool: names, counts, schema size, capabilities, limits', () => {
  const hello = (tools: unknown[], worker: unknown = 'gpu-1') => ({ type: 'hello', protocol: 1, worker, tools });
  const spec = echoSpec() as unknown as Record<string, unknown>;
  refusedWorker(hello([], 'Bad Name'), 'worker "Bad Name" does not match /^[a-z0-9][a-z0-9_-]{0,63}$/');
  refusedWorker(hello([{ ...spec, name: 'Echo' }]), 'tools[0].name "Echo" does not match /^[a-z][a-z0-9_-]*(\\.[a-z][a-z0-9_-]*)*$/');
  refusedWorker(hello([{ ...spec, name: 'x'.repeat(49) }]), 'tools[0].name must be a string of 1 to 48 characters');
  refusedWorker(hello(Array.from({ length: 129 }, () => spec)), 'tools lists 129 tools; at most 128 are allowed');
  refusedWorker(hello([{ ...spec, capabilities: ['root'] }]), 'tools[0].capabilities must be a list of: fs_read, fs_write, process, network, secrets, plugin, remote, memory');
  refusedWorker(hello([{ ...spec, risk: 'none' }]), 'tools[0].risk must be one of: low, medium, high');
  refusedWorker(hello([{ ...spec, limits: { timeoutMs: 0, maxOutputBytes: 1 } }]), 'tools[0].limits.timeoutMs must be an integer from 1 to 600000');
  refusedWorker(hello([{ ...spec, limits: { timeoutMs: 1, maxOutputBytes: 1, cpu: 1 } }]), 'tools[0].limits.cpu is not a known field');
  const big = { type: 'object', description: 'x'.repeat(WORKER_LIMITS.maxSchemaBytes) };
  refusedWorker(hello([{ ...spec, inputSchema: big }]), `tools[0].inputSchema is ${WORKER_LIMITS.maxSchemaBytes + 34} bytes; at most ${WORKER_LIMITS.maxSchemaBytes} are allowed`);
  const oversized = new Uint8Array(WORKER_LIMITS.maxFrameBytes + 1);
  refusedWorker(oversized, `frame is ${WORKER_LIMITS.maxFrameBytes + 1} bytes; at most ${WORKER_LIMITS.maxFrameBytes} are allowed`);
});

test('the worker refuses malformed hub frames too', () => {
  assert.throws(() => parseHubFrame(encode({ type: 'invoke', callId: 'c1', tool: 'echo', input: {}, timeoutMs: 0 })), { message: 'Invalid worker frame: timeoutMs must be an integer from 1 to 600000' });
  assert.throws(() => parseHubFrame(encode({ type: 'pong', nonce: 1 })), { message: 'Invalid worker frame: unknown type "pong"' });
});

test('workerUrl turns what an operator types into the hub URL, and refuses credentials', () => {
  assert.equal(workerUrl('http://127.0.0.1:7142'), 'ws://127.0.0.1:7142/api/v1/workers');
  assert.equal(workerUrl('https://gw.example:443/'), 'wss://gw.example/api/v1/workers');
  assert.equal(workerUrl('ws://h:1/custom/path'), 'ws://h:1/custom/path');
  assert.throws(() => workerUrl('ftp://h'), { message: '--connect "ftp://h" must be a ws://, wss://, http:// or https:// URL' });
  assert.throws(() => workerUrl('nope'), { message: '--connect "nope" is not a URL: use e.g. ws://127.0.0.1:7142' });
  assert.throws(() => workerUrl('ws://h:1/?token=abc'), /must not carry credentials or a query/);
});

test('backoff doubles from 250 ms to a 30 s cap with equal jitter', () => {
  const opts = (r: number) => ({ initialMs: 250, maxMs: 30_000, random: () => r });
  assert.deepEqual([0, 1, 2, 3, 7, 8, 50].map((a) => backoffDelay(a, opts(0))), [125, 250, 500, 1000, 15_000, 15_000, 15_000]);
  assert.deepEqual([0, 1, 7, 50].map((a) => backoffDelay(a, opts(0.999999))), [250, 500, 30_000, 30_000]);
});

test('close reasons are cut to 123 bytes at a character boundary', () => {
  assert.equal(closeReason('ok'), 'ok');
  const cut = closeReason('é'.repeat(100));
  assert.deepEqual([Buffer.byteLength(cut) <= 123, cut.length], [true, 61]);
});
