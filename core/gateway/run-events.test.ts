import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunEventStream, type RunStreamEvent } from './run-events.ts';

const seqs = (events: RunStreamEvent[]) => events.map((e) => e.seq);

test('a subscriber gets what it missed after its cursor, then live events, until the end', () => {
  const stream = new RunEventStream();
  stream.publish('a', 1);
  stream.publish('b', 2);
  const got: RunStreamEvent[] = [];
  const { gap } = stream.subscribe(1, (e) => got.push(e));
  stream.publish('c', 3);
  stream.end(null);
  stream.publish('late', 4);
  assert.equal(gap, false);
  assert.deepEqual(got.map((e) => [e.seq, e.type]), [[2, 'b'], [3, 'c'], [4, 'end']]);
});

test('a cursor ahead of the stream holds for live events too', () => {
  const stream = new RunEventStream();
  stream.publish('a', 1);
  const got: RunStreamEvent[] = [];
  const subscription = stream.subscribe(3, (e) => got.push(e));
  for (const type of ['b', 'c', 'd', 'e']) stream.publish(type, null);
  assert.deepEqual(seqs(got), [4, 5]);
  subscription.unsubscribe();
  stream.publish('f', null);
  assert.deepEqual(seqs(got), [4, 5]);
});

test('a cursor behind the buffer reports the gap; at least the newest 10,000 events are kept', () => {
  const stream = new RunEventStream();
  for (let i = 0; i < 25_000; i++) stream.publish('x', i);
  const got: RunStreamEvent[] = [];
  assert.equal(stream.subscribe(0, (e) => got.push(e)).gap, true);
  const oldest = got[0]?.seq as number;
  assert.ok(oldest > 1 && oldest <= 15_001, `oldest kept: ${oldest}`);
  assert.deepEqual(got.map((e) => e.seq), Array.from({ length: 25_001 - oldest }, (_, i) => oldest + i));
  assert.equal(stream.subscribe(oldest - 1, () => undefined).gap, false);
  assert.equal(stream.subscribe(oldest - 2, () => undefined).gap, true);
});
