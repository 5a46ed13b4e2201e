import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { FIXTURE_TOKEN, startGatewayFixture } from '../../../test/helpers/gateway-fixture.ts';
import { GatewayRuntimeState, type RunStreamEvent } from '../../gateway/index.ts';
import { createScriptedProvider, parseScript } from '../../providers/index.ts';
import { attachWebSocket, type WebSocketEndpoint, type WebSocketOptions } from './ws-server.ts';

const TOKEN = FIXTURE_TOKEN;

/** "echo …" runs the echo tool; "long" streams 80 small chunks slowly; "big" streams 400 chunks of 4 KB; anything else a short reply. */
const SCRIPT = parseScript({
  version: 1,
  turns: [
    { when: { lastMessageRole: 'tool' }, text: 'tool said {{lastToolResult}}' },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'echo ' }, toolCalls: [{ name: 'echo', arguments: { text: '{{lastUserRest}}' } }] },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'long' }, text: 'ab'.repeat(80), chunkSize: 2, delayMs: 5 },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'big' }, text: 'x'.repeat(400 * 4096), chunkSize: 4096 },
    { when: {}, text: 'a short reply in chunks', chunkSize: 5 },
  ],
});

interface Harness {
  url: string;
  gateway: GatewayRuntimeState;
  session: string;
  endpoint: WebSocketEndpoint;
  close: () => Promise<void>;
}

async function start(options: Partial<WebSocketOptions> = {}, onServer?: (server: import('node:http').Server) => void): Promise<Harness> {
  let endpoint!: WebSocketEndpoint;
  const fixture = await startGatewayFixture({
    provider: createScriptedProvider(SCRIPT),
    attach: (server, gateway) => {
      onServer?.(server);
      return (endpoint = attachWebSocket(server, { gateway, authenticate: (t) => t === TOKEN, ...options }));
    },
  });
  const { session } = await fixture.gateway.sessions.create({});
  return { url: `${fixture.url.replace(/^http/, 'ws')}/api/v1/ws`, gateway: fixture.gateway, session: session.id, endpoint, close: fixture.close };
}

type Frame = Record<string, any>;

/** A client that keeps every frame and can wait for one. */
class Client {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static async open(url: string): Promise<Client> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Waits for a frame matching `pred` (each frame is tested once). */
  async until(pred: (f: Frame) => boolean, what: string): Promise<Frame> {
    for (let from = 0; ; ) {
      for (; from < this.frames.length; from++) if (pred(this.frames[from] as Frame)) return this.frames[from] as Frame;
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode}) before ${what}`);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 15_000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the close; a server that never closes fails the test after 20 s instead of hanging it. */
  async closed(): Promise<number> {
    const deadline = Date.now() + 20_000;
    while (this.closeCode === null) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for the server to close the connection')), Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.closeCode;
  }

  events(sub: unknown): RunStreamEvent[] {
    return this.frames.filter((f) => f.op === 'event' && f.sub === sub).map((f) => f.event as RunStreamEvent);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }
}

function fullStream(gateway: GatewayRuntimeState, runId: string): RunStreamEvent[] {
  const all: RunStreamEvent[] = [];
  gateway.events(runId).subscribe(0, (e) => all.push(e)).unsubscribe();
  return all;
}

async function refusal(url: string, init: { headers?: Record<string, string>; protocols?: string[] }): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, init.protocols ?? [], { headers: init.headers ?? {} });
  return new Promise((resolve, reject) => {
    ws.on('open', () => reject(new Error('upgrade was accepted')));
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

test('the upgrade needs the admin token: header or browser subprotocol, never anything else', async () => {
  const h = await start();
  try {
    const none = await refusal(h.url, {});
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.body).error.code, 'PALYRA_UNAUTHORIZED');
    assert.equal((await refusal(h.url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await refusal(`${h.url}?token=${TOKEN}`, {})).status, 401, 'query tokens are not accepted');
    assert.equal((await refusal(h.url.replace('/api/v1/ws', '/elsewhere'), { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
    const browser = new WebSocket(h.url, ['palyra.v1', `palyra.bearer.${TOKEN}`]);
    await new Promise<void>((resolve, reject) => browser.once('open', () => resolve()).once('error', reject));
    assert.equal(browser.protocol, 'palyra.v1', 'the token is never echoed');
    browser.close();
  } finally {
    await h.close();
  }
});

test('send admits a message; subscribing to its run delivers every event in order, framed without gaps', async () => {
  const h = await start();
  try {
    const c = await Client.open(h.url);
    c.send({ op: 'send', id: 'm1', session: h.session, text: 'echo hi', idempotencyKey: 'k1' });
    const admitted = await c.until((f) => f.op === 'ok' && f.ref === 'm1', 'the admission');
    const runId = admitted.admission.runId as string;
    assert.deepEqual(Object.keys(admitted.admission).sort(), ['duplicate', 'messageId', 'runId', 'sessionId']);
    c.send({ op: 'subscribe', id: 1, run: runId });
    await c.until((f) => f.op === 'event' && f.event.type === 'end', 'the end event');
    const events = c.events(1);
    assert.deepEqual(events, fullStream(h.gateway, runId));
    assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
    assert.equal(events.at(-1)?.data && (events.at(-1)?.data as any).finalText, 'tool said {"text":"hi"}');
    assert.deepEqual(c.frames[0], { seq: 1, op: 'hello', protocol: 1, limits: { maxSubscriptions: 64, maxMessageBytes: 1024 * 1024, maxBufferedBytes: 1024 * 1024 } });
    assert.deepEqual(c.frames.map((f) => f.seq), c.frames.map((_, i) => i + 1), 'per-connection seq from 1 without gaps');
    assert.deepEqual(c.frames.find((f) => f.op === 'ok' && f.ref === 1), { seq: c.frames.findIndex((f) => f.op === 'ok' && f.ref === 1) + 1, op: 'ok', ref: 1, run: runId, after: 0 });
    c.send({ op: 'unsubscribe', id: 1 });
    const gone = await c.until((f) => f.op === 'error' && f.ref === 1, 'unsubscribing an ended subscription');
    assert.equal(gone.error.code, 'PALYRA_NOT_FOUND', 'a subscription ends with its run');
    // Subscribing after the end of an ended run ends at once and keeps no slot.
    const last = events.at(-1)?.seq as number;
    c.send({ op: 'subscribe', id: 2, run: runId, after: last });
    const ended = await c.until((f) => f.op === 'ok' && f.ref === 2, 'the subscription past the end');
    assert.equal(ended.ended, true);
    c.send({ op: 'subscribe', id: 2, run: runId, after: last - 1 });
    const again = await c.until((f) => f.op === 'event' && f.sub === 2, 'the id is free again; the end is replayed');
    assert.equal(again.event.type, 'end');
    c.ws.close();
  } finally {
    await h.close();
  }
});

test('a client that drops mid-run resumes from its cursor: no event lost, none repeated', async () => {
  const h = await start();
  try {
    const { runId } = await h.gateway.admit(h.session, { text: 'long' });
    const a = await Client.open(h.url);
    a.send({ op: 'subscribe', id: 's', run: runId, after: 0 });
    await a.until((f) => f.op === 'event' && f.event.seq >= 10, 'ten events');
    a.ws.terminate();
    await a.closed();
    const seen = a.events('s');
    assert.ok(seen.at(-1)?.type !== 'end', 'dropped before the run ended');
    const b = await Client.open(h.url);
    b.send({ op: 'subscribe', id: 's', run: runId, after: seen.at(-1)?.seq });
    await b.until((f) => f.op === 'event' && f.event.type === 'end', 'the end event');
    const all = fullStream(h.gateway, runId);
    assert.ok(all.filter((e) => e.type === 'text_delta').length >= 80);
    assert.deepEqual([...seen, ...b.events('s')], all);
    b.ws.close();
  } finally {
    await h.close();
  }
});

test('bad messages get error replies and the connection stays usable', async () => {
  const h = await start();
  try {
    const c = await Client.open(h.url);
    c.send('{not json');
    c.send('[1,2]');
    c.send({ op: 'dance', id: 7 });
    c.send({ op: 'subscribe', id: 'x', run: 'run_nope' });
    c.send({ op: 'subscribe', id: 'y', run: 'r', after: -1 });
    c.send({ op: 'send', id: 'm', session: 'ses_nope', text: 'hi' });
    c.send({ op: 'send', id: 'e', session: h.session, text: '' });
    c.ws.send(Buffer.from([1, 2, 3]));
    c.send({ op: 'ping', id: 'p' });
    await c.until((f) => f.op === 'pong', 'the pong');
    await c.until((f) => f.op === 'error' && f.ref === 'm', 'the send error');
    const replies = c.frames.filter((f) => f.op === 'error').map((f) => [f.ref, f.error.code]);
    assert.deepEqual(replies.sort(), [
      ['e', 'PALYRA_INVALID_ARGUMENT'],
      ['m', 'PALYRA_NOT_FOUND'],
      ['x', 'PALYRA_NOT_FOUND'],
      ['y', 'PALYRA_INVALID_ARGUMENT'],
      [7, 'PALYRA_INVALID_ARGUMENT'],
      [null, 'PALYRA_INVALID_ARGUMENT'],
      [null, 'PALYRA_INVALID_JSON'],
      [null, 'PALYRA_INVALID_JSON'],
    ].sort());
    assert.equal(c.frames.find((f) => f.ref === 7)?.error.message, 'Unknown op "dance": expected subscribe, unsubscribe, send or ping');
    assert.equal(c.frames.find((f) => f.op === 'pong')?.ref, 'p');
    assert.equal(c.closeCode, null);
    c.ws.close();
  } finally {
    await h.close();
  }
});

test('a client that stops reading is told its cursors, closed with 4008, and resumes from them', async () => {
  const h = await start({ maxBufferedBytes: 64 * 1024, slowTimeoutMs: 800 });
  try {
    const { runId } = await h.gateway.admit(h.session, { text: 'big' });
    await h.gateway.waitFor(runId);
    const all = fullStream(h.gateway, runId);
    const subs = Array.from({ length: 16 }, (_, i) => `s${i}`);

    // A reading client gets the whole replay (~26 MB) paced, without being called slow.
    const fast = await Client.open(h.url);
    for (const id of subs) fast.send({ op: 'subscribe', id, run: runId });
    let ends = 0;
    await fast.until((f) => f.op === 'event' && f.event.type === 'end' && ++ends === subs.length, 'every replay');
    assert.equal(fast.frames.some((f) => f.op === 'slow'), false);
    fast.ws.close();

    const slow = await Client.open(h.url);
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    for (const id of subs) slow.send({ op: 'subscribe', id, run: runId });
    await slow.until((f) => f.op === 'ok' && f.ref === 's0', 'the first ok');
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    socket.resume();
    assert.equal(await slow.closed(), 4008);
    const last = slow.frames.at(-1) as Frame;
    assert.equal(last.op, 'slow');
    assert.deepEqual(slow.frames.map((f) => f.seq), slow.frames.map((_, i) => i + 1));
    for (const id of subs) {
      const seen = slow.events(id);
      const cursor = last.cursors[id] as { run: string; after: number } | undefined;
      if (seen.at(-1)?.type === 'end') assert.equal(cursor, undefined, `${id} ended, so has no cursor`);
      else assert.deepEqual(cursor, { run: runId, after: seen.at(-1)?.seq ?? 0 }, `${id}'s cursor is its last event`);
    }
    const resumed = Object.entries(last.cursors as Record<string, { run: string; after: number }>);
    assert.ok(resumed.length > 0, 'some subscriptions were cut short');

    const again = await Client.open(h.url);
    for (const [id, c] of resumed) again.send({ op: 'subscribe', id, run: c.run, after: c.after });
    let resumedEnds = 0;
    await again.until((f) => f.op === 'event' && f.event.type === 'end' && ++resumedEnds === resumed.length, 'every resumed stream');
    for (const [id] of resumed) assert.deepEqual([...slow.events(id), ...again.events(id)].map((e) => e.seq), all.map((e) => e.seq), id);
    again.ws.close();
  } finally {
    await h.close();
  }
});

test('more queued events than maxQueuedEvents: the client is told its cursors and closed with 4008 at once, not silently dropped', async () => {
  // The stall timer is far off: only the queue bound can call this client slow.
  const h = await start({ maxBufferedBytes: 64 * 1024, slowTimeoutMs: 60_000, maxQueuedEvents: 50 });
  try {
    const { runId } = await h.gateway.admit(h.session, { text: 'big' });
    await h.gateway.waitFor(runId);
    const all = fullStream(h.gateway, runId);
    const subs = Array.from({ length: 16 }, (_, i) => `q${i}`);
    const c = await Client.open(h.url);
    await c.until((f) => f.op === 'hello', 'hello');
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    for (const id of subs) c.send({ op: 'subscribe', id, run: runId });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    socket.resume();
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 10 s'), 10_000).unref());
    assert.equal(await Promise.race([c.closed(), timeout]), 4008);
    const last = c.frames.at(-1) as Frame;
    assert.equal(last.op, 'slow');
    assert.deepEqual(c.frames.map((f) => f.seq), c.frames.map((_, i) => i + 1));
    const cut = Object.entries(last.cursors as Record<string, { run: string; after: number }>);
    assert.ok(cut.length > 0, 'some subscriptions were cut short');
    for (const [id, cursor] of cut) assert.deepEqual(cursor, { run: runId, after: c.events(id).at(-1)?.seq ?? 0 }, `${id}'s cursor is its last event`);

    const again = await Client.open(h.url);
    for (const [id, cursor] of cut) again.send({ op: 'subscribe', id, run: cursor.run, after: cursor.after });
    let ends = 0;
    await again.until((f) => f.op === 'event' && f.event.type === 'end' && ++ends === cut.length, 'every resumed stream');
    for (const [id] of cut) assert.deepEqual([...c.events(id), ...again.events(id)].map((e) => e.seq), all.map((e) => e.seq), id);
    again.ws.close();
  } finally {
    await h.close();
  }
});

test('connections are capped: one more is refused with 503 before upgrading', async () => {
  const h = await start({ maxConnections: 1 });
  try {
    const first = await Client.open(h.url);
    await first.until((f) => f.op === 'hello', 'hello');
    const refused = await refusal(h.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual([refused.status, JSON.parse(refused.body).error.code], [503, 'PALYRA_UNAVAILABLE']);
    first.ws.close();
  } finally {
    await h.close();
  }
});

test('subscriptions are capped per connection and ids are unique while active', async () => {
  const h = await start({ maxSubscriptions: 2 });
  try {
    const { runId } = await h.gateway.admit(h.session, { text: 'long' });
    const c = await Client.open(h.url);
    c.send({ op: 'subscribe', id: 'a', run: runId });
    c.send({ op: 'subscribe', id: 'a', run: runId });
    c.send({ op: 'subscribe', id: 'b', run: runId });
    c.send({ op: 'subscribe', id: 'c', run: runId });
    c.send({ op: 'unsubscribe', id: 'b' });
    const left = await c.until((f) => f.op === 'ok' && f.ref === 'b' && 'cursor' in f, 'the unsubscribe');
    assert.equal(left.run, runId);
    const errors = c.frames.filter((f) => f.op === 'error').map((f) => [f.ref, f.error.message]);
    assert.deepEqual(errors, [
      ['a', 'Subscription "a" is already active on this connection'],
      ['c', 'A connection holds at most 2 subscriptions'],
    ]);
    await c.until((f) => f.op === 'event' && f.sub === 'a' && f.event.type === 'end', 'the end of a');
    assert.ok(c.events('b').every((e) => e.seq <= left.cursor), 'nothing for b after its cursor');
    c.ws.close();
  } finally {
    await h.close();
  }
});

test('a resume older than the run buffer is told about the gap before the events', async () => {
  const h = await start();
  try {
    const { runId } = await h.gateway.admit(h.session, { text: 'x' });
    await h.gateway.waitFor(runId);
    const stream = h.gateway.events(runId);
    const before = fullStream(h.gateway, runId).length;
    // Push the oldest events out of the run's buffer: past 11,000 it drops all but the
    // newest 10,000. Test-only: reopen the ended stream to publish more (nothing else observes it).
    const total = 11_001;
    stream.ended = false;
    for (let i = before; i < total; i++) stream.publish('filler', i);
    stream.ended = true;
    const first = total - 10_000 + 1;
    const c = await Client.open(h.url);
    c.send({ op: 'subscribe', id: 'g', run: runId, after: 1 });
    const gap = await c.until((f) => f.op === 'gap', 'the gap');
    assert.deepEqual(gap, { seq: 3, op: 'gap', sub: 'g', run: runId, after: 1, first, message: `Events of run "${runId}" after 1 and before ${first} are no longer buffered` });
    await c.until((f) => f.op === 'event' && f.event.seq === total, 'the last buffered event');
    assert.equal(c.frames[3]?.event.seq, first);
    c.ws.close();
  } finally {
    await h.close();
  }
});

test('close() ends every connection with 1001 and refuses new upgrades', async () => {
  const h = await start();
  try {
    const c = await Client.open(h.url);
    await c.until((f) => f.op === 'hello', 'hello');
    assert.equal(h.endpoint.connections(), 1);
    await h.endpoint.close();
    assert.equal(await c.closed(), 1001);
    assert.equal(h.endpoint.connections(), 0);
    const late = await refusal(h.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual([late.status, JSON.parse(late.body).error.code], [503, 'PALYRA_UNAVAILABLE']);
  } finally {
    await h.close();
  }
});

test('the heartbeat drops a connection that stops answering pings', async () => {
  const h = await start({ heartbeatMs: 100 });
  try {
    const ws = new WebSocket(h.url, { headers: { authorization: `Bearer ${TOKEN}` }, autoPong: false });
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    assert.equal(code, 1006);
  } finally {
    await h.close();
  }
});

test('a message over the size limit closes the connection with 1009', async () => {
  const h = await start({ maxMessageBytes: 1024 });
  try {
    const c = await Client.open(h.url);
    c.send({ op: 'send', session: h.session, text: 'y'.repeat(2048) });
    assert.equal(await c.closed(), 1009);
  } finally {
    await h.close();
  }
});

test('a client that sends requests but never reads is not read from while its replies wait: the buffer stays bounded until the stall timeout closes it', async () => {
  const sockets: { writableLength: number }[] = [];
  const h = await start({ maxBufferedBytes: 16 * 1024, slowTimeoutMs: 1_500 }, (server) => server.on('upgrade', (_req, socket) => void sockets.push(socket)));
  try {
    const c = await Client.open(h.url);
    await c.until((f) => f.op === 'hello', 'hello');
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // Each unknown op is answered with an error that quotes it (capped at 2,000 characters).
    const op = 'x'.repeat(2000);
    for (let i = 0; i < 10_000; i++) c.send({ op, id: `r${i}` } as never);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const [socketOfServer] = sockets;
    assert.ok(socketOfServer !== undefined);
    // Without the pause: ~10,000 replies of ~2 KB (21 MB, less what the kernel holds) would wait here; with it, at most
    // the event limit plus one message's worth (16 KiB + 1 MiB), and the replies to the requests
    // already read when it paused (one socket read: at most 64 KiB of requests).
    assert.ok(socketOfServer.writableLength < 16 * 1024 + 1024 * 1024 + 128 * 1024, `buffered ${socketOfServer.writableLength}`);
    assert.ok(socketOfServer.writableLength > 512 * 1024, 'the replies did pile up to the limit (the test measures what it means to)');
    socket.resume();
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 10 s'), 10_000).unref());
    const code = await Promise.race([c.closed(), timeout]);
    // A client that reads again in time may well be served to the end; one that does not is closed as slow.
    assert.ok(code === 4008 || c.frames.filter((f) => f.op === 'error').length === 10_000, `closed ${code}`);
    const errors = c.frames.filter((f) => f.op === 'error');
    assert.ok(errors.length > 0 && errors.every((f) => String((f.error as { message: string }).message).length < 2100), 'error replies quote at most 2,000 characters');
  } finally {
    await h.close();
  }
});
