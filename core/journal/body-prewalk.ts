import { quoteUntrusted } from './untrusted-text.ts';

/**
 * A first pass over a frame body that palyrad's fast decoder did not take, before the
 * general MessagePack decoder builds anything from it. It builds nothing itself (beyond
 * the keys of one map at a time) and stops early, so a hostile body costs time in
 * proportion to the values read, never memory in proportion to what a header claims.
 */

/** What the first pass found; null when the general decoder may have the body (it names any other fault). */
export type PrewalkVerdict =
  /** Bytes different decoders would read differently: `FRAME_DECODE`. */
  | { type: 'ambiguous'; reason: string }
  /** More values than any record holds: `RECORD_INVALID`, not decoded. */
  | { type: 'too-many-values'; reason: string }
  | null;

/**
 * Values a body may hold before it is judged not to be a record without being decoded:
 * the map, and every key, value and array or map element at any depth, counted as they
 * are read. A record holds 29 (a map of 14 keys and 14 scalar values); the limit leaves
 * room for the extra keys a forger adds, which verify names one by one.
 */
export const MAX_BODY_VALUES = 1000;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes after the type byte of MessagePack's fixed-size types (and the length fields of bin/ext). */
const SCALAR_BYTES: Partial<Record<number, number>> = {
  0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8, 0xca: 4, 0xcb: 8,
  0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17, 0xc4: 1, 0xc5: 2, 0xc6: 4, 0xc7: 1, 0xc8: 2, 0xc9: 4,
};

class Truncated extends Error {}

/**
 * Walks `b` in order and reports the first of: a map key that is not a string, is not
 * valid UTF-8 or repeats in its map, a string that is not valid UTF-8 (ambiguous), or a
 * value beyond the `MAX_BODY_VALUES`th (too many). A body that ends early is left to the
 * decoder. Recursion is at most `MAX_BODY_VALUES` deep, since every level is a value.
 */
export function prewalkBody(b: Uint8Array): PrewalkVerdict {
  const view = Buffer.from(b.buffer, b.byteOffset, b.length);
  let p = 0;
  let values = 0;
  const stringAt = (t: number): { start: number; end: number } | null => {
    let len: number;
    if ((t & 0xe0) === 0xa0) len = t & 0x1f;
    else if (t === 0xd9) len = p < b.length ? (b[p++] as number) : -1;
    else if (t === 0xda) (len = p + 2 <= b.length ? view.readUInt16BE(p) : -1), (p += 2);
    else if (t === 0xdb) (len = p + 4 <= b.length ? view.readUInt32BE(p) : -1), (p += 4);
    else return null;
    if (len < 0 || p + len > b.length) throw new Truncated();
    const span = { start: p, end: p + len };
    p += len;
    return span;
  };
  const validUtf8 = (span: { start: number; end: number }): boolean => {
    try {
      strictUtf8.decode(b.subarray(span.start, span.end));
      return true;
    } catch {
      return false;
    }
  };
  const tooMany = (): PrewalkVerdict => ({ type: 'too-many-values', reason: `frame body holds more than ${MAX_BODY_VALUES} values (nested or repeated): not a record` });
  const value = (): PrewalkVerdict => {
    if (p >= b.length) throw new Truncated();
    if (++values > MAX_BODY_VALUES) return tooMany();
    const t = b[p++] as number;
    const str = stringAt(t);
    if (str) return validUtf8(str) ? null : { type: 'ambiguous', reason: `a string at byte ${str.start} is not valid UTF-8` };
    let count = -1;
    let isMap = false;
    if ((t & 0xf0) === 0x80) (count = t & 0x0f), (isMap = true);
    else if ((t & 0xf0) === 0x90) count = t & 0x0f;
    else if (t === 0xde || t === 0xdc) (count = p + 2 <= b.length ? view.readUInt16BE(p) : 0), (p += 2), (isMap = t === 0xde);
    else if (t === 0xdf || t === 0xdd) (count = p + 4 <= b.length ? view.readUInt32BE(p) : 0), (p += 4), (isMap = t === 0xdf);
    if (count >= 0) {
      const keys = isMap ? new Set<string>() : null;
      for (let i = 0; i < count; i++) {
        if (keys) {
          const keyAtByte = p;
          if (p >= b.length) throw new Truncated();
          if (++values > MAX_BODY_VALUES) return tooMany();
          const key = stringAt(b[p++] as number);
          if (!key) return { type: 'ambiguous', reason: `a map key at byte ${keyAtByte} is not a string` };
          if (!validUtf8(key)) return { type: 'ambiguous', reason: `a map key at byte ${key.start} is not valid UTF-8` };
          const name = view.toString('utf8', key.start, key.end);
          if (keys.has(name)) return { type: 'ambiguous', reason: `map key ${quoteUntrusted(name)} appears twice` };
          keys.add(name);
        }
        const inner = value();
        if (inner) return inner;
      }
      return null;
    }
    p += SCALAR_BYTES[t] ?? 0;
    if (p > b.length) throw new Truncated();
    if (t === 0xc4 || t === 0xc7) p += (b[p - 1] as number) + (t === 0xc7 ? 1 : 0);
    else if (t === 0xc5 || t === 0xc8) p += view.readUInt16BE(p - 2) + (t === 0xc8 ? 1 : 0);
    else if (t === 0xc6 || t === 0xc9) p += view.readUInt32BE(p - 4) + (t === 0xc9 ? 1 : 0);
    return null;
  };
  try {
    return value();
  } catch (error) {
    if (error instanceof Truncated || error instanceof RangeError) return null; // Malformed: the decoder names it.
    throw error;
  }
}
