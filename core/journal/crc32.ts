import * as zlib from 'node:zlib';

/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial) of a byte range. Uses zlib.crc32 where the
 * runtime has it (Node ≥ 20.15) and a table otherwise (Deno's node:zlib may lack it).
 */
export const crc32: (data: Uint8Array) => number = pickImplementation();

function pickImplementation(): (data: Uint8Array) => number {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (typeof native === 'function') {
    try {
      if (native(new Uint8Array([0x61])) === 0xe8b7be43) return (data) => native(data) >>> 0;
    } catch {
      // fall through to the portable table
    }
  }
  return tableCrc32;
}

let table: Uint32Array | undefined;

function tableCrc32(data: Uint8Array): number {
  table ??= buildTable();
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** Exposed for tests: the portable implementation, to check it against zlib's. */
export const portableCrc32 = tableCrc32;
