/**
 * Canonical JSON as RFC 8785 (JCS) defines it for the values palyrad stores: object keys
 * sorted by UTF-16 code units, no whitespace, strings escaped as `JSON.stringify` does,
 * numbers in ECMAScript shortest form. Hashes are computed over this text, so any
 * implementation of JCS can recompute them.
 */

/** A JSON value as palyrad stores it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Serializes a JSON value canonically.
 * @throws TypeError for values JSON cannot represent (undefined, functions, non-finite numbers, bigint).
 */
export function canonicalJson(value: unknown): string {
  sawUnfrozen = false;
  try {
    return write(value);
  } catch (error) {
    // The fast path keeps no path; find where the bad value is only when there is one.
    if (error instanceof TypeError) throw new TypeError(`Cannot encode ${pathOfInvalid(value, '$') ?? '$'}: ${error.message}`);
    throw error;
  }
}

// String concatenation rather than an array of parts: V8 builds ropes cheaply, and this
// runs for every journal payload written.
function write(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${value} is not a finite number`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Object.isFrozen(value)) {
        const known = frozenText.get(value);
        if (known !== undefined) return known;
      }
      const outer = sawUnfrozen;
      sawUnfrozen = false;
      let out: string;
      if (Array.isArray(value)) {
        out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + write(value[i]);
        out += ']';
      } else {
        out = writeObject(value as Record<string, unknown>);
      }
      const deepFrozen = !sawUnfrozen && Object.isFrozen(value);
      if (deepFrozen) frozenText.set(value, out);
      sawUnfrozen = outer || !deepFrozen;
      return out;
    }
    default:
      throw new TypeError(`a ${typeof value} is not JSON`);
  }
}

/**
 * The text of deep-frozen objects and arrays, by identity: such a value can never change,
 * and the daemon writes some in every run (the tool list with its schemas, ~7 KB, in each
 * `run.started`). Only values frozen all the way down are kept; `sawUnfrozen` tells a
 * parent whether anything under it was not.
 */
const frozenText = new WeakMap<object, string>();
let sawUnfrozen = false;

// Object keys repeat across payloads (`tool`, `args`, `usage`, ...): keep their quoted
// form with the colon instead of escaping them again each time. Bounded, then reset.
const quotedKeys = new Map<string, string>();
const MAX_CACHED_KEYS = 4096;

function quotedKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key) + ':';
    if (key.length <= 64) {
      if (quotedKeys.size >= MAX_CACHED_KEYS) quotedKeys.clear();
      quotedKeys.set(key, q);
    }
  }
  return q;
}

/**
 * Sorts keys in place by UTF-16 code units, exactly the order JCS requires (and the one
 * `<` on strings gives). Objects have few keys, often already in order: an insertion
 * sort there allocates nothing, where Array.prototype.sort allocated ~1 KB of working
 * state per object (a third of all a journal append allocated, measured) and cost more.
 */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function writeObject(obj: Record<string, unknown>): string {
  const keys = sortKeys(Object.keys(obj));
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = obj[key];
    if (v === undefined) continue;
    out += (first ? '' : ',') + quotedKey(key) + write(v);
    first = false;
  }
  return out + '}';
}

function pathOfInvalid(value: unknown, path: string): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path;
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return null;
  if (typeof value !== 'object') return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathOfInvalid(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const found = pathOfInvalid(v, `${path}.${k}`);
    if (found) return found;
  }
  return null;
}
