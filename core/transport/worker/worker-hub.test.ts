import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket, { WebSocketServer } from 'ws';
import { encode } from '@msgpack/msgpack';
import { tempDir } from '../../../test/helpers/temp-dir.ts';
import type { JsonValue, PalyraError } from '../../base/index.ts';
import { createEchoTool, createSleepTool, ToolRegistry, type PreparedTool, type ToolContext, type ToolDefinition } from '../../tools/index.ts';
import { WorkerClient } from './worker-client.ts';
import { parseHubFrame } from './worker-frame-parse.ts';
import { helloFor } from './worker-hello.ts';
import { attachWorkerHub, type WorkerHubEvent, type WorkerHubOptions } from './worker-hub.ts';
import { encodeFrame } from './worker-protocol.ts';

const TOKENS: Record<string, string> = { 'token-gpu-1': 'gpu-1', 'token-other': 'other' };

/** A hub on a real HTTP server on 127.0.0.1, with the daemon-side registry it fills. */
async function startHub(options: Partial<WorkerHubOptions> = {}) {
  const registry = new ToolRegistry({ abortGraceMs: 200 });
  const events: WorkerHubEvent[] = [];
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  const sockets = new Set<Socket>();
  server.on('upgrade', (_req, socket: Socket) => sockets.add(socket));
  const hub = attachWorkerHub(server, { registry, authenticateWorker: (t) => (t === null ? null : (TOKENS[t] ?? null)), onEvent: (e) => events.push(e), ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/workers`;
  const close = async () => {
    await hub.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  after(close);
  /** Cuts every worker's TCP connection, as a network failure would. */
  const cutNetwork = () => sockets.forEach((s) => s.destroy());
  return { registry, events, hub, url, cutNetwork };
}

function startWorker(url: string, options: { token?: string; name?: string; initialMs?: number; extraTools?: Parameters<ToolRegistry['register']>[0][] } = {}) {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  registry.register(createSleepTool());
  for (const tool of options.extraTools ?? []) registry.register(tool);
  const dir = tempDir();
  const logs: string[] = [];
  const client = new WorkerClient({
    url,
    token: options.token ?? 'token-gpu-1',
    name: options.name,
    registry,
    context: { workspace: dir, stateDir: dir },
    backoff: { initialMs: options.initialMs ?? 20, maxMs: 200 },
    log: (m) => logs.push(m),
  });
  const done = client.run();
  after(async () => {
    client.stop();
    await done.catch(() => undefined);
  });
  return { client, done, logs };
}

function context(signal = new AbortController().signal): ToolContext {
  return { workspace: '/nonexistent', stateDir: '/nonexistent', signal, sessionId: null };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw socket speaking the protocol by hand, for what a well-behaved client never does. */
async function rawWorker(url: string, token = 'token-gpu-1') {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const frames: unknown[] = [];
  ws.on('message', (data) => frames.push(parseHubFrame(data as Buffer)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, frames, closed };
}

test('a worker registers its tools under worker.<name>.*, and the daemon\'s registry runs them on it', async () => {
  const { registry, events, hub, url } = await startHub();
  startWorker(url, { name: 'gpu-1' });
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  const info = registry.list().map(({ name, capabilities, risk, limits }) => ({ name, capabilities, risk, timeoutMs: limits.timeoutMs }));
  assert.deepEqual(info, [
    { name: 'worker.gpu-1.echo', capabilities: ['remote'], risk: 'low', timeoutMs: 12_000 },
    { name: 'worker.gpu-1.sleep', capabilities: ['remote'], risk: 'low', timeoutMs: 63_000 },
  ]);
  assert.deepEqual(hub.workers(), [{ worker: 'gpu-1', tools: ['worker.gpu-1.echo', 'worker.gpu-1.sleep'] }]);
  assert.deepEqual(events, [{ type: 'connected', worker: 'gpu-1', tools: ['worker.gpu-1.echo', 'worker.gpu-1.sleep'], replaced: false }]);

  const result = await registry.invoke('worker.gpu-1.echo', { text: 'over the wire' }, context());
  assert.deepEqual([result.ok, result.ok && result.output], [true, { text: 'over the wire' }]);
  // The daemon validates input against the worker's schema before anything is sent.
  const invalid = await registry.invoke('worker.gpu-1.echo', { nope: 1 }, context());
  assert.equal(invalid.ok ? null : invalid.error.code, 'PALYRA_TOOL_INPUT_INVALID');
});

test('a wrong token is refused with 401 before the upgrade, and the client gives up with a clear error', async () => {
  const { registry, url } = await startHub();
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: 'Bearer wrong' } });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => undefined);
  });
  assert.equal(status, 401);
  const { done } = startWorker(url, { token: 'wrong' });
  await assert.rejects(done, { code: 'PALYRA_UNAUTHORIZED', message: 'The daemon refused the worker token (HTTP 401): check it, or create one with "palyrad worker token create NAME"' });
  const mismatch = startWorker(url, { name: 'gpu-2' });
  await assert.rejects(mismatch.done, { message: 'The daemon refused this worker: The token belongs to worker "gpu-1", not "gpu-2"' });
  assert.deepEqual(registry.list(), []);
});

test('a worker dropping mid-call fails the call at once, its tools leave, and it comes back with backoff', async () => {
  const { registry, events, url, cutNetwork } = await startHub();
  const { logs } = startWorker(url);
  await waitFor(() => registry.get('worker.gpu-1.sleep') !== undefined, 'registration');
  const started = Date.now();
  const call = registry.invoke('worker.gpu-1.sleep', { ms: 30_000 }, context());
  await new Promise((r) => setTimeout(r, 50));
  cutNetwork();
  const result = await call;
  assert.ok(Date.now() - started < 2_000, 'failed at once, not after the sleep or a timeout');
  assert.equal(result.ok ? null : result.error.code, 'PALYRA_TOOL_WORKER_GONE');
  assert.match(result.ok ? '' : result.error.message, /^Worker "gpu-1" cannot finish the call: it disconnected/);
  assert.deepEqual(events.filter((e) => e.type === 'disconnected').map((e) => e.type === 'disconnected' && e.failedCalls), [1]);

  await waitFor(() => events.filter((e) => e.type === 'connected').length === 2, 're-registration');
  assert.match(logs.find((l) => l.startsWith('disconnected')) ?? '', /reconnecting in \d+ ms$/);
  const again = await registry.invoke('worker.gpu-1.echo', { text: 'back' }, context());
  assert.deepEqual(again.ok && again.output, { text: 'back' });
});

test('the tools are unregistered while the worker is away', async () => {
  const { registry, events, url, cutNetwork } = await startHub();
  startWorker(url, { initialMs: 60_000 });
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  cutNetwork();
  await waitFor(() => events.some((e) => e.type === 'disconnected'), 'disconnection');
  assert.deepEqual(registry.list(), []);
  const gone = await registry.invoke('worker.gpu-1.echo', { text: 'x' }, context());
  assert.equal(gone.ok ? null : gone.error.code, 'PALYRA_TOOL_NOT_FOUND');
});

test('cancelling a call on the daemon cancels it on the worker', async () => {
  const { registry, url } = await startHub();
  startWorker(url);
  await waitFor(() => registry.get('worker.gpu-1.sleep') !== undefined, 'registration');
  const controller = new AbortController();
  const call = registry.invoke('worker.gpu-1.sleep', { ms: 30_000 }, context(controller.signal));
  setTimeout(() => controller.abort(), 50);
  const result = await call;
  assert.equal(result.ok ? null : result.error.code, 'PALYRA_TOOL_CANCELLED');
  const after = await registry.invoke('worker.gpu-1.echo', { text: 'still here' }, context());
  assert.equal(after.ok, true, 'the connection survives a cancel');
});

test('a worker that stops answering pings is dropped after two missed heartbeats', async () => {
  const { registry, events, url } = await startHub({ heartbeatMs: 40 });
  const raw = await rawWorker(url);
  const echoOnly = new ToolRegistry();
  echoOnly.register(createEchoTool());
  raw.ws.send(encodeFrame(helloFor(echoOnly, null)));
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  const { code, reason } = await raw.closed;
  assert.deepEqual([code, reason], [4004, 'missed two heartbeats']);
  assert.ok(raw.frames.filter((f) => (f as { type: string }).type === 'ping').length >= 2);
  assert.deepEqual(registry.list(), []);
  assert.deepEqual(events.at(-1), { type: 'disconnected', worker: 'gpu-1', code: 4004, reason: 'missed two heartbeats', failedCalls: 0 });
});

test('bad frames close the connection with 4001 and a reason', async () => {
  const { url } = await startHub();
  const text = await rawWorker(url);
  text.ws.send('{"type":"hello"}');
  assert.deepEqual(await text.closed, { code: 4001, reason: 'Invalid worker frame: frames must be binary msgpack' });
  const notHello = await rawWorker(url);
  notHello.ws.send(encode({ type: 'pong', nonce: 1 }));
  assert.deepEqual(await notHello.closed, { code: 4001, reason: 'Invalid worker frame: the first frame must be hello' });
  const version = await rawWorker(url);
  version.ws.send(encode({ type: 'hello', protocol: 2, worker: null, tools: [] }));
  assert.deepEqual(await version.closed, { code: 4002, reason: 'Protocol version 2 is not supported; this daemon speaks 1' });
  assert.deepEqual(version.frames, [{ type: 'refused', code: 'PALYRA_INVALID_ARGUMENT', message: 'Protocol version 2 is not supported; this daemon speaks 1' }]);
});

test('a second connection with the same token replaces the first', async () => {
  const { registry, events, url } = await startHub();
  const first = await rawWorker(url);
  const echoOnly = new ToolRegistry();
  echoOnly.register(createEchoTool());
  first.ws.send(encodeFrame(helloFor(echoOnly, null)));
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'first registration');
  startWorker(url);
  assert.deepEqual(await first.closed, { code: 4005, reason: 'a newer connection of this worker took over' });
  await waitFor(() => registry.get('worker.gpu-1.sleep') !== undefined, 'second registration');
  assert.deepEqual(events.map((e) => e.type), ['connected', 'disconnected', 'connected']);
  assert.equal((events[2] as { replaced: boolean }).replaced, true);
});

test('a worker whose token is revoked is dropped at the next heartbeat and stops for good', async () => {
  const tokens = new Map([['token-gpu-1', 'gpu-1']]);
  const { registry, url } = await startHub({ heartbeatMs: 40, authenticateWorker: (t) => (t === null ? null : (tokens.get(t) ?? null)) });
  const { done } = startWorker(url);
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  tokens.delete('token-gpu-1');
  await assert.rejects(done, { message: 'The daemon refused this worker: the worker token was revoked' });
  assert.deepEqual(registry.list(), []);
});

test('a hello with a tool the registry cannot take is refused whole (4003) and registers nothing', async () => {
  const { registry, events, url } = await startHub();
  const raw = await rawWorker(url);
  const echo = helloFor(registryWith(createEchoTool()), null);
  const broken = { ...echo.tools[0], name: 'broken', inputSchema: { type: 'object', frobnicate: true } };
  raw.ws.send(encodeFrame({ ...echo, tools: [echo.tools[0], broken] } as Parameters<typeof encodeFrame>[0]));
  const { code, reason } = await raw.closed;
  assert.equal(code, 4003);
  assert.match(reason, /^Cannot register tool "worker\.gpu-1\.broken": its input schema is invalid/);
  assert.deepEqual([registry.list(), events.map((e) => e.type)], [[], ['refused']]);
});

test('a refused hello from a newer connection leaves the registered worker with the same token alone', async () => {
  const { registry, events, url } = await startHub();
  const good = startWorker(url);
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  const raw = await rawWorker(url);
  const echo = helloFor(registryWith(createEchoTool()), null).tools[0]!;
  const broken = { ...echo, name: 'broken', inputSchema: { type: 'object', frobnicate: true } };
  raw.ws.send(encodeFrame({ type: 'hello', protocol: 1, worker: null, tools: [echo, broken] } as Parameters<typeof encodeFrame>[0]));
  assert.equal((await raw.closed).code, 4003);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(registry.list().map((t) => t.name), ['worker.gpu-1.echo', 'worker.gpu-1.sleep']);
  assert.deepEqual(events.map((e) => e.type), ['connected', 'refused']);
  assert.deepEqual(good.logs.filter((l) => /disconnected/.test(l)), []);
  const still = await registry.invoke('worker.gpu-1.echo', { text: 'still here' }, context());
  assert.equal(still.ok, true);
});

function registryWith(...tools: Parameters<ToolRegistry['register']>[0][]): ToolRegistry {
  const r = new ToolRegistry();
  for (const t of tools) r.register(t);
  return r;
}

test('a token lookup that fails keeps connected workers (checked again next heartbeat) and tells a new peer nothing', async () => {
  let broken = false;
  const { registry, events, url } = await startHub({
    heartbeatMs: 30,
    authenticateWorker: (t) => {
      if (broken) throw new Error('Token file "/secret/state/auth/workers/x.token" is accessible to group or others');
      return t === 'token-gpu-1' ? 'gpu-1' : null;
    },
  });
  const { done } = startWorker(url);
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  broken = true;
  const answer = await new Promise<{ status: number; body: string }>((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: 'Bearer garbage' } });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => undefined);
  });
  assert.deepEqual([answer.status, JSON.parse(answer.body)], [503, { error: { code: 'PALYRA_UNAVAILABLE', message: 'Cannot check the worker token now: try again later' } }]);
  await new Promise((r) => setTimeout(r, 200)); // several heartbeats
  assert.deepEqual(events.map((e) => e.type), ['connected']);
  broken = false;
  const still = await registry.invoke('worker.gpu-1.echo', { text: 'still here' }, context());
  assert.equal(still.ok, true);
  const outcome = await Promise.race([done.then(() => 'ended', () => 'ended'), new Promise((r) => setTimeout(() => r('running'), 50))]);
  assert.equal(outcome, 'running');
});

test('a hello whose schemas would take too long to compile is refused (4003) before any compiles', async () => {
  const { registry, events, url } = await startHub();
  const echo = helloFor(registryWith(createEchoTool()), null).tools[0]!;
  const flat = (props: number) => ({ type: 'object', properties: Object.fromEntries(Array.from({ length: props }, (_, i) => [`p${i}`, { type: 'string', maxLength: 5 }])) });
  const send = async (tools: unknown[]) => {
    const raw = await rawWorker(url);
    const started = Date.now();
    raw.ws.send(encode({ type: 'hello', protocol: 1, worker: null, tools }));
    const closed = await raw.closed;
    return { closed, frames: raw.frames, ms: Date.now() - started };
  };
  // 167 properties of 3 values each, plus 3: 504 JSON values in one schema.
  const one = await send([{ ...echo, name: 'big', inputSchema: flat(167) }]);
  const tooBig = 'The input schema of tool "big" is too complex: 504 JSON values; at most 500 are allowed';
  assert.deepEqual([one.closed, one.frames], [{ code: 4003, reason: tooBig }, [{ type: 'refused', code: 'PALYRA_INVALID_ARGUMENT', message: tooBig }]]);
  // Nine schemas of 453 values each: every one allowed, together too many.
  const many = await send(Array.from({ length: 9 }, (_, i) => ({ ...echo, name: `t${i}`, inputSchema: flat(150) })));
  assert.deepEqual(many.closed, { code: 4003, reason: 'The tools\' input schemas are too complex together: 4077 JSON values; at most 4000 are allowed in one hello' });
  assert.ok(many.ms < 1_000, `refused without compiling (${many.ms} ms)`);
  assert.deepEqual([registry.list(), events.map((e) => e.type)], [[], ['refused', 'refused']]);
});

test('two workers sharing a token do not take it from each other forever: one gives up with a clear error', async () => {
  const { registry, events, url } = await startHub();
  const a = startWorker(url);
  const b = startWorker(url);
  const outcome = (w: typeof a) => w.done.then(() => 'stopped', (e: PalyraError) => `${e.code}: ${e.message}`);
  const first = await Promise.race([outcome(a), outcome(b), new Promise((r) => setTimeout(() => r('still flapping'), 8_000))]);
  assert.equal(first, 'PALYRA_CONFLICT: Another worker is using this token: a newer connection with it took over 5 times in a row (close 4005). Stop the other worker, or give each worker its own token');
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'the other worker registered');
  const connected = events.filter((e) => e.type === 'connected').length;
  assert.ok(connected <= 11, `${connected} connections`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(events.filter((e) => e.type === 'connected').length, connected, 'the other worker keeps its connection');
});

test('a worker holds at most one connection before hello: a newer one drops it, so one token cannot take every slot', async () => {
  const { url } = await startHub({ maxWorkers: 3 });
  const silent = [];
  for (let i = 0; i < 5; i++) silent.push(await rawWorker(url));
  const closed = await Promise.all(silent.slice(0, 4).map((w) => w.closed));
  assert.deepEqual(closed, Array.from({ length: 4 }, () => ({ code: 4005, reason: 'a newer connection of this worker took over before hello' })));
  assert.equal(silent[4]!.ws.readyState, WebSocket.OPEN);
  // The other worker still finds a slot.
  const other = await rawWorker(url, 'token-other');
  assert.equal(other.ws.readyState, WebSocket.OPEN);
});

test('a call whose input is nested deeper than frames allow fails alone; the worker and its other calls carry on', async () => {
  const { registry, events, url } = await startHub();
  const store = { name: 'store', description: 'Stores a document', inputSchema: { type: 'object' }, capabilities: [], risk: 'low', parallelSafe: true, limits: { timeoutMs: 5_000, maxOutputBytes: 1_000 }, run: async () => 'stored' } as const;
  startWorker(url, { extraTools: [store] });
  await waitFor(() => registry.get('worker.gpu-1.store') !== undefined, 'registration');
  const other = registry.invoke('worker.gpu-1.sleep', { ms: 200 }, context());
  await new Promise((r) => setTimeout(r, 30));
  let deep: JsonValue = 'leaf';
  for (let i = 0; i < 70; i++) deep = [deep];
  const refused = await registry.invoke('worker.gpu-1.store', { deep }, context());
  assert.deepEqual(refused.ok ? null : refused.error, { code: 'PALYRA_TOOL_INPUT_INVALID', message: 'Input for "store" on worker "gpu-1" cannot be sent: it must be plain JSON nested at most 64 deep' });
  const stored = await registry.invoke('worker.gpu-1.store', { shallow: [1] }, context());
  assert.deepEqual(stored.ok && stored.output, 'stored');
  const slept = await other;
  assert.equal(slept.ok, true);
  assert.deepEqual(events.map((e) => e.type), ['connected']);
});

test('a daemon that accepts the upgrade and never answers hello is left and retried with backoff', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  let upgrades = 0;
  wss.on('connection', () => upgrades++);
  after(() => new Promise<void>((resolve) => {
    wss.clients.forEach((c) => c.terminate());
    wss.close(() => resolve());
  }));
  const registry = registryWith(createEchoTool());
  const logs: string[] = [];
  const client = new WorkerClient({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/api/v1/workers`, token: 't', registry, context: { workspace: '/nonexistent', stateDir: '/nonexistent' }, backoff: { initialMs: 20, maxMs: 40 }, registrationTimeoutMs: 100, log: (m) => logs.push(m) });
  const done = client.run();
  await waitFor(() => upgrades >= 3, 'three attempts');
  client.stop();
  await done;
  assert.ok(logs.includes('the daemon did not answer hello within 100 ms'), logs.join('\n'));
  assert.match(logs.find((l) => l.startsWith('disconnected')) ?? '', /^disconnected \(1006\); reconnecting in \d+ ms$/);
});

/** A registry that notes every input schema it is asked to compile, however it is asked. */
class SchemaTrackingRegistry extends ToolRegistry {
  readonly schemas: WeakRef<object>[] = [];

  override prepare(tool: ToolDefinition<never>): PreparedTool {
    this.schemas.push(new WeakRef(tool.inputSchema));
    return super.prepare(tool);
  }

  override scopedPreparer(): (tool: ToolDefinition<never>) => PreparedTool {
    const prepare = super.scopedPreparer();
    return (tool) => {
      this.schemas.push(new WeakRef(tool.inputSchema));
      return prepare(tool);
    };
  }
}

/** How many of `refs`' targets survive full garbage collections (forced, with or without --expose-gc). */
async function survivorsOfGc(refs: readonly WeakRef<object>[]): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    // A WeakRef keeps its target until the job that last read it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}

test('a worker\'s compiled schemas are freed when its hello is refused or its connection closes, so reconnecting cannot grow the daemon', async () => {
  const registry = new SchemaTrackingRegistry();
  const { events, url } = await startHub({ registry });
  const echo = helloFor(registryWith(createEchoTool()), null);
  const refused = await rawWorker(url);
  const broken = { ...echo.tools[0], name: 'broken', inputSchema: { type: 'object', frobnicate: true } };
  refused.ws.send(encodeFrame({ ...echo, tools: [echo.tools[0], broken] } as Parameters<typeof encodeFrame>[0]));
  assert.equal((await refused.closed).code, 4003);
  const registered = await rawWorker(url);
  registered.ws.send(encodeFrame(echo));
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  // Control: while its tool is registered, the schema it was compiled from is alive.
  assert.equal(await survivorsOfGc(registry.schemas), 1);
  registered.ws.close(1000, 'bye');
  await waitFor(() => events.some((e) => e.type === 'disconnected'), 'disconnection');
  assert.deepEqual([registry.schemas.length, await survivorsOfGc(registry.schemas)], [3, 0]);
});

test('a worker connecting too often is refused with 429 before the upgrade, keeps its registered connection, and journals nothing', async () => {
  const { registry, events, url } = await startHub({ maxConnectsPerMinute: 2 });
  const registered = await rawWorker(url);
  registered.ws.send(encodeFrame(helloFor(registryWith(createEchoTool()), null)));
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  const second = await rawWorker(url);
  second.ws.close();
  await second.closed;
  const refused = await new Promise<{ status: number; body: string }>((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: 'Bearer token-gpu-1' } });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => undefined);
  });
  // Two connections used the allowance up; the next refills in 30 s.
  assert.deepEqual([refused.status, JSON.parse(refused.body)], [429, { error: { code: 'PALYRA_RATE_LIMITED', message: 'Worker "gpu-1" connects too often: try again in 30 s' } }]);
  // Another worker's allowance is its own.
  const other = await rawWorker(url, 'token-other');
  other.ws.close();
  await other.closed;
  assert.deepEqual([registry.list().map((t) => t.name), events.map((e) => e.type), registered.ws.readyState], [['worker.gpu-1.echo'], ['connected'], WebSocket.OPEN]);
});

test('a worker that leaves more than 16 MiB of calls unread is dropped (4007) and its calls fail', async () => {
  const { registry, events, url } = await startHub();
  const raw = await rawWorker(url);
  const bulky = { ...createEchoTool(), inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] }, limits: { timeoutMs: 60_000, maxOutputBytes: 1024, maxInputBytes: 1024 * 1024 } };
  raw.ws.send(encodeFrame(helloFor(registryWith(bulky as Parameters<ToolRegistry['register']>[0]), null)));
  await waitFor(() => registry.get('worker.gpu-1.echo') !== undefined, 'registration');
  // From here on it reads nothing (it could still answer pings from its own timer).
  (raw.ws as unknown as { _socket: Socket })._socket.pause();
  const big = 'x'.repeat(900 * 1024);
  const calls = Array.from({ length: 48 }, () => registry.invoke('worker.gpu-1.echo', { text: big }, context()));
  const results = await Promise.all(calls);
  const codes = new Set(results.map((r) => (r.ok ? 'ok' : r.error.code)));
  assert.deepEqual([...codes], ['PALYRA_TOOL_WORKER_GONE']);
  assert.match(results[0]?.ok === false ? results[0].error.message : '', /it left more than 16777216 bytes unread|not connected/);
  await waitFor(() => events.some((e) => e.type === 'disconnected'), 'the drop');
  assert.equal(registry.get('worker.gpu-1.echo'), undefined);
  raw.ws.terminate();
});
