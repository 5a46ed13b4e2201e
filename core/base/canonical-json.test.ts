import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from './canonical-json.ts';

test('sorts keys by UTF-16 code units at every depth and adds no whitespace', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, A: true }), '{"A":true,"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  // "é" (U+00E9) sorts after "z"; a supplementary character sorts by its surrogates.
  assert.equal(canonicalJson({ é: 1, z: 2, '\u{1F600}': 3, '\uFFFF': 4 }), '{"z":2,"é":1,"\u{1F600}":3,"\uFFFF":4}');
});

test('key order is the code-unit order for any number of keys, whatever order they were added in', () => {
  // Small objects take an insertion sort, large ones Array.prototype.sort: both must agree
  // with a plain code-unit sort, including integer-like keys (which objects list first, in
  // numeric order) and keys that share a prefix.
  const pool = ['10', '9', '2', 'a', 'A', 'aa', 'a0', '_', 'é', 'z', '\u{1F600}', '\uFFFF', '', ' ', 'b', 'ab', 'Z', '-1', '1e3', 'key'];
  let seed = 7;
  const random = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let round = 0; round < 200; round++) {
    const count = 1 + random(pool.length);
    const keys = [...pool].sort(() => random(3) - 1).slice(0, count);
    const obj: Record<string, number> = {};
    keys.forEach((k, i) => (obj[k] = i));
    const expected = '{' + [...keys].sort().map((k) => `${JSON.stringify(k)}:${obj[k]}`).join(',') + '}';
    assert.equal(canonicalJson(obj), expected, `keys added as ${JSON.stringify(keys)}`);
  }
});

test('numbers use the ECMAScript shortest form; -0 is 0', () => {
  assert.equal(canonicalJson([1, 1.5, -0, 1e21, 1e-7, 0.1 + 0.2]), '[1,1.5,0,1e+21,1e-7,0.30000000000000004]');
});

test('strings are escaped as JSON.stringify does', () => {
  assert.equal(canonicalJson('a"b\\c\n\u0001é'), JSON.stringify('a"b\\c\n\u0001é'));
});

test('undefined object members are dropped, as JSON does', () => {
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
});

test('values JSON cannot represent are refused with their path', () => {
  assert.throws(() => canonicalJson({ a: [1, Number.NaN] }), { name: 'TypeError', message: 'Cannot encode $.a[1]: NaN is not a finite number' });
  assert.throws(() => canonicalJson({ f: () => 1 }), { message: 'Cannot encode $.f: a function is not JSON' });
  assert.throws(() => canonicalJson(10n), { message: 'Cannot encode $: a bigint is not JSON' });
  assert.throws(() => canonicalJson([undefined]), { message: 'Cannot encode $[0]: a undefined is not JSON' });
});

test('a value frozen all the way down is remembered; one that can still change is written afresh every time', () => {
  const deep = Object.freeze({ b: Object.freeze([1, Object.freeze({ d: 'x', c: null })]), a: 'y' });
  assert.equal(canonicalJson(deep), '{"a":"y","b":[1,{"c":null,"d":"x"}]}');
  assert.equal(canonicalJson({ list: [deep, deep] }), '{"list":[{"a":"y","b":[1,{"c":null,"d":"x"}]},{"a":"y","b":[1,{"c":null,"d":"x"}]}]}');

  // Frozen on the outside only: what is inside may change between calls.
  const inner = { n: 1 };
  const shallow = Object.freeze({ inner });
  assert.equal(canonicalJson(shallow), '{"inner":{"n":1}}');
  inner.n = 2;
  assert.equal(canonicalJson(shallow), '{"inner":{"n":2}}');
  const array = Object.freeze([inner]);
  assert.equal(canonicalJson(array), '[{"n":2}]');
  inner.n = 3;
  assert.equal(canonicalJson(array), '[{"n":3}]');

  // A failed write leaves nothing behind that changes the next one.
  assert.throws(() => canonicalJson(Object.freeze({ bad: Object.freeze([Number.NaN]) })));
  assert.equal(canonicalJson(Object.freeze({ ok: Object.freeze([1]) })), '{"ok":[1]}');
});
