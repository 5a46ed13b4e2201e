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
  const out: string[] = [];
  write(value, out, '$');
  return out.join('');
}

function write(value: unknown, out: string[], path: string): void {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Cannot encode ${path}: ${value} is not a finite number`);
      out.push(Object.is(value, -0) ? '0' : String(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      if (value === null) {
        out.push('null');
      } else if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          write(value[i], out, `${path}[${i}]`);
        }
        out.push(']');
      } else {
        writeObject(value as Record<string, unknown>, out, path);
      }
      return;
    default:
      throw new TypeError(`Cannot encode ${path}: a ${typeof value} is not JSON`);
  }
}

function writeObject(obj: Record<string, unknown>, out: string[], path: string): void {
  // Array.prototype.sort compares UTF-16 code units, exactly what JCS requires.
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  out.push('{');
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0) out.push(',');
    out.push(JSON.stringify(key), ':');
    write(obj[key], out, `${path}.${key}`);
  }
  out.push('}');
}
