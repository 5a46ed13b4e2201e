/**
 * The conformance suite every MemoryStore runs: the in-memory store now, the
 * journal-backed store when it lands. Call it from a test file with a factory that makes
 * an empty store on a given clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../base/index.ts';
import type { MemoryStore } from './memory-store.ts';

/** A clock that moves only when told to. */
export function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

/** Registers the conformance tests for one MemoryStore implementation. */
export function memoryStoreConformance(name: string, makeStore: (clock: Clock) => MemoryStore | Promise<MemoryStore>): void {
  test(`${name}: put keeps text, normalizes tags and records the session`, async () => {
    const clock = manualClock();
    const store = await makeStore(clock);
    const record = await store.put({ text: 'The deploy key lives in vault', tags: [' Ops', 'ops', 'Keys', ''], sessionId: 's1' });
    assert.deepEqual({ ...record, id: 'x' }, { id: 'x', text: 'The deploy key lives in vault', tags: ['keys', 'ops'], createdAt: clock.now(), sessionId: 's1' });
    assert.equal(typeof record.id, 'string');
    assert.ok(record.id.length > 0);
  });

  test(`${name}: search ranks full matches first, then newer, and honours the limit`, async () => {
    const clock = manualClock();
    const store = await makeStore(clock);
    const a = await store.put({ text: 'Build uses esbuild', tags: [], sessionId: null });
    clock.advance(10);
    const b = await store.put({ text: 'The build runs on esbuild with a wasm plugin', tags: [], sessionId: null });
    clock.advance(10);
    const c = await store.put({ text: 'Unrelated note about lunch', tags: ['build'], sessionId: null });
    clock.advance(10);
    await store.put({ text: 'Nothing in common', tags: [], sessionId: null });

    const hits = await store.search('esbuild build', { limit: 10 });
    assert.deepEqual(hits.map((h) => h.id), [b.id, a.id, c.id]);
    assert.deepEqual(hits[0], { id: b.id, text: b.text, tags: [], score: 1 });
    assert.ok((hits[2]?.score ?? 1) < 1 && (hits[2]?.score ?? 0) > 0, 'a partial match scores between 0 and 1');
    assert.deepEqual((await store.search('esbuild build', { limit: 1 })).map((h) => h.id), [b.id]);
  });

  test(`${name}: search with no matching terms finds nothing`, async () => {
    const store = await makeStore(manualClock());
    await store.put({ text: 'alpha beta', tags: [], sessionId: null });
    assert.deepEqual(await store.search('gamma', { limit: 5 }), []);
    assert.deepEqual(await store.search('  ,;  ', { limit: 5 }), []);
  });

  test(`${name}: delete removes a record once`, async () => {
    const store = await makeStore(manualClock());
    const r = await store.put({ text: 'to forget', tags: [], sessionId: null });
    assert.equal(await store.delete(r.id), true);
    assert.equal(await store.delete(r.id), false);
    assert.deepEqual(await store.search('forget', { limit: 5 }), []);
  });
}
