import { decode, encode } from '@msgpack/msgpack';
import { computeRecordHash, type StoredRecord } from '../../core/journal/record.ts';

/** A seeded source of choices. */
export interface Random {
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const enc = (value: unknown) => Buffer.from(encode(value));

/**
 * MessagePack values a record field must never hold, many of them claiming far more
 * bytes or items than the body has: a decoder that trusts a claim allocates it.
 */
export const HOSTILE_VALUES: Record<string, () => Buffer> = {
  array: () => enc([1, 2]),
  map: () => enc({ a: 1 }),
  bin: () => enc(new Uint8Array([1, 2, 3])),
  bool: () => hex('c3'),
  nil: () => hex('c0'),
  nan: () => hex('cb 7ff8000000000000'),
  infinity: () => hex('cb 7ff0000000000000'),
  negInfinity: () => hex('cb fff0000000000000'),
  negZero: () => hex('cb 8000000000000000'),
  fraction: () => hex('cb 3ff8000000000000'),
  float32Whole: () => hex('ca 40400000'),
  uint64Max: () => hex('cf ffffffffffffffff'),
  int64Min: () => hex('d3 8000000000000000'),
  twoPow53: () => hex('cf 0020000000000000'),
  strClaim4GiB: () => hex('db ffffffff 6162'),
  str16Claim: () => hex('da ffff 61'),
  arrayClaim4G: () => hex('dd ffffffff c0'),
  mapClaim4G: () => hex('df ffffffff a161 c0'),
  binClaim4GiB: () => hex('c6 ffffffff 00'),
  extClaim4GiB: () => hex('c9 ffffffff 01 00'),
  badTimestamp: () => hex('d7 ff ffffffff 00000000'),
  unknownExt: () => hex('d4 05 00'),
  reservedByte: () => hex('c1'),
  deep100: () => Buffer.concat([Buffer.alloc(100, 0x91), hex('c0')]),
  deep100k: () => Buffer.concat([Buffer.alloc(100_000, 0x91), hex('c0')]),
  deepMaps: () => Buffer.concat([Buffer.from('81a178'.repeat(20_000), 'hex'), hex('c0')]),
  wideArray: () => Buffer.concat([hex('dc ffff'), Buffer.alloc(0xffff, 0xc0)]),
  invalidUtf8: () => hex('a2 fffe'),
  bigString: () => enc('x'.repeat(300_000)),
  terminalEscapes: () => enc('\u001b[2J\u001b]0;owned\u0007\u009b31m\u202eevil'),
};

/** Record keys, as written. */
const KEYS = ['v', 'seq', 'id', 'ts', 'kind', 'sessionId', 'runId', 'actor', 'principal', 'channel', 'payloadJson', 'redactions', 'prevHash', 'hash'] as const;

function mapHeader(count: number, form: 'fix' | '16' | '32'): Buffer {
  if (form === 'fix' && count < 16) return Buffer.from([0x80 | count]);
  if (form !== '32' && count < 0x10000) return Buffer.from([0xde, count >> 8, count & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xdf;
  b.writeUInt32BE(count, 1);
  return b;
}

/** A frame body built from `original`'s record with one hostile change; the caller recomputes the CRC. */
export function hostileBody(original: Buffer, r: Random): { body: Buffer; what: string } | null {
  let record: StoredRecord;
  try {
    record = decode(original) as StoredRecord;
  } catch {
    return null; // An earlier mutation left no record here to forge from.
  }
  let entries: [Buffer, Buffer][] = KEYS.map((k) => [enc(k), enc(record[k])]);
  const rehashed = (changed: StoredRecord): [Buffer, Buffer][] => KEYS.map((k) => [enc(k), enc(k === 'hash' ? computeRecordHash(changed) : changed[k])]);
  const kind = r.pick(['value', 'seq', 'key', 'top', 'text'] as const);
  let what: string = kind;
  let header = mapHeader(entries.length, 'fix');
  let trailer = Buffer.alloc(0);
  if (kind === 'value') {
    const field = r.int(KEYS.length);
    const name = r.pick(Object.keys(HOSTILE_VALUES));
    (entries[field] as [Buffer, Buffer])[1] = (HOSTILE_VALUES[name] as () => Buffer)();
    what = `${KEYS[field]} = ${name}`;
  } else if (kind === 'seq') {
    const seq = r.pick([record.seq + 1 + r.int(5), record.seq - 1, 0, -1, Number.MAX_SAFE_INTEGER, 1, record.seq + 1000]);
    entries = rehashed({ ...record, seq });
    what = `seq ${record.seq} -> ${seq}, rehashed`;
  } else if (kind === 'text') {
    const field = r.pick(['kind', 'id', 'actor', 'payloadJson', 'sessionId'] as const);
    const value = r.pick(['\u001b[31mred', 'x'.repeat(5000), '', '{"origin":"\u001b]0;t\u0007"}', '\ud800', 'journal.genesis']);
    entries = rehashed({ ...record, [field]: value });
    what = `${field} = ${JSON.stringify(value.slice(0, 20))}, rehashed`;
  } else if (kind === 'key') {
    const edit = r.pick(['intKey', 'nilKey', 'arrayKey', 'duplicate', 'proto', 'extra', 'missing', 'badUtf8Key', 'escapeKey', 'manyKeys'] as const);
    what = `key ${edit}`;
    if (edit === 'intKey') entries.push([hex('01'), hex('c0')]);
    else if (edit === 'nilKey') entries.push([hex('c0'), hex('c0')]);
    else if (edit === 'arrayKey') entries.push([enc([1]), hex('c0')]);
    else if (edit === 'duplicate') entries.push([enc('seq'), enc(record.seq + 1)]);
    else if (edit === 'proto') entries.push([enc('__proto__'), enc({ v: 1 })]);
    else if (edit === 'extra') entries.push([enc('extra'), enc('x')]);
    else if (edit === 'missing') entries.splice(r.int(entries.length), 1);
    else if (edit === 'badUtf8Key') entries.push([hex('a2 c328'), hex('c0')]);
    else if (edit === 'escapeKey') entries.push([enc('\u001b[2Jk'), hex('c0')]);
    else for (let i = 0; i < 20_000; i++) entries.push([enc(`k${i}`), hex('c0')]);
    header = mapHeader(entries.length, entries.length < 16 ? 'fix' : '16');
  } else {
    const edit = r.pick(['array', 'string', 'nil', 'map16', 'map32', 'overclaim', 'underclaim', 'trailing', 'empty'] as const);
    what = `top ${edit}`;
    if (edit === 'array') return { body: Buffer.concat([hex('9e'), ...entries.map((e) => e[1])]), what };
    if (edit === 'string') return { body: enc('not a record'), what };
    if (edit === 'nil') return { body: hex('c0'), what };
    if (edit === 'empty') return { body: hex('80'), what };
    if (edit === 'map16') header = mapHeader(entries.length, '16');
    else if (edit === 'map32') header = mapHeader(entries.length, '32');
    else if (edit === 'overclaim') header = mapHeader(0xffffffff, '32');
    else if (edit === 'underclaim') header = mapHeader(entries.length - 1, 'fix');
    else trailer = hex('c0');
  }
  return { body: Buffer.concat([header, ...entries.flat(), trailer]), what };
}

/** A checkpoint line with one hostile change. */
export function hostileCheckpointLine(line: string, r: Random): { line: string; what: string } {
  const cp = JSON.parse(line) as Record<string, unknown>;
  const edits: Record<string, () => string> = {
    notJson: () => line.slice(0, line.length >> 1),
    array: () => '[1,2]',
    string: () => '"checkpoint"',
    empty: () => '{}',
    hugeNumber: () => line.replace(/"size":\d+/, '"size":1e400'),
    hugeN: () => line.replace(/"n":\d+/, '"n":1152921504606846976'),
    negativeSize: () => JSON.stringify({ ...cp, size: -1 }),
    fractionTs: () => JSON.stringify({ ...cp, ts: 1.5 }),
    stringSize: () => JSON.stringify({ ...cp, size: String(cp.size) }),
    shortHash: () => JSON.stringify({ ...cp, headHash: String(cp.headHash).slice(1) }),
    upperHash: () => JSON.stringify({ ...cp, headHash: String(cp.headHash).toUpperCase() }),
    longPrev: () => JSON.stringify({ ...cp, prev: `${String(cp.prev)}00` }),
    shortSig: () => JSON.stringify({ ...cp, sig: String(cp.sig).slice(2) }),
    urlSafeSig: () => JSON.stringify({ ...cp, sig: String(cp.sig).replace(/\+/g, '-').replace(/\//g, '_') }),
    duplicateKey: () => `{"size":0,${line.slice(1)}`,
    escapedDuplicate: () => `{"\\u0073ize":0,${line.slice(1)}`,
    deepVersion: () => JSON.stringify({ ...cp, v: 'x' }).replace('"v":"x"', `"v":${'['.repeat(50_000)}${']'.repeat(50_000)}`),
    longVersion: () => JSON.stringify({ ...cp, v: 'v'.repeat(100_000) }),
    deepExtra: () => `${line.slice(0, -1)},"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
    longExtra: () => JSON.stringify({ ...cp, x: 'y'.repeat(1_000_000) }),
    escapeOrigin: () => JSON.stringify({ ...cp, origin: '\u001b[2J\u001b]0;owned\u0007' }),
    longOrigin: () => JSON.stringify({ ...cp, origin: 'o'.repeat(100_000) }),
    escapeKeyId: () => JSON.stringify({ ...cp, keyId: '\u001b[31m\u009b2J' }),
    longKeyId: () => JSON.stringify({ ...cp, keyId: 'k'.repeat(100_000) }),
    bom: () => `\ufeff${line}`,
    crlf: () => `${line}\r`,
    nul: () => `${line}\u0000`,
    bigSize: () => JSON.stringify({ ...cp, size: Number.MAX_SAFE_INTEGER }),
  };
  const what = r.pick(Object.keys(edits));
  return { line: (edits[what] as () => string)(), what };
}
