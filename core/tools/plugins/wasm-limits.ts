/**
 * Reads the declared limits of a WebAssembly module's own memories and tables from its
 * binary, before anything runs.
 *
 * Why parse: `WebAssembly.Module.exports()` shows neither limits nor unexported memories,
 * and wasm memory lives outside the JS heap, so a Worker's `resourceLimits` do not bound
 * it. The declared maximum is the only hard cap: `memory.grow` returns -1 there. So a
 * module is only run when every memory declares a maximum within the plugin's limit.
 */
import { PalyraError } from '../../base/index.ts';

/** Declared limits of one memory (in 64 KiB pages) or table (in elements). */
export interface WasmLimits {
  min: number;
  /** Null when the module declares no maximum (unbounded growth). */
  max: number | null;
}

/** The memories and tables a module defines itself (imports are checked separately). */
export interface WasmStorage {
  memories: WasmLimits[];
  tables: WasmLimits[];
}

const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;

/**
 * Parses the table and memory sections of `bytes`.
 * @throws PalyraError PALYRA_TOOL_FAILED for a malformed binary, PALYRA_TOOL_FORBIDDEN
 *   for shared or 64-bit memories and other limit encodings this host does not run.
 */
export function readWasmStorage(bytes: Uint8Array): WasmStorage {
  const reader = new Reader(bytes);
  const magic = reader.bytes(8);
  if (magic.join(',') !== '0,97,115,109,1,0,0,0') throw malformed('not a WebAssembly 1.0 binary');
  const storage: WasmStorage = { memories: [], tables: [] };
  while (!reader.done()) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.pos + size;
    if (end > bytes.length) throw malformed(`section ${id} runs past the end`);
    if (id === SECTION_TABLE) {
      for (let n = reader.u32(); n > 0; n--) {
        const refType = reader.byte();
        // 0x40 starts a table with an initializer (function-references proposal): not supported.
        if (refType === 0x40) throw forbidden('declares a table with an initializer, which this host does not run');
        storage.tables.push(readLimits(reader, 'table'));
      }
    } else if (id === SECTION_MEMORY) {
      for (let n = reader.u32(); n > 0; n--) storage.memories.push(readLimits(reader, 'memory'));
    }
    reader.pos = end;
  }
  return storage;
}

function readLimits(reader: Reader, what: 'memory' | 'table'): WasmLimits {
  const flags = reader.byte();
  // Security: only plain 32-bit, unshared limits (0x00 min, 0x01 min+max). Shared (0x02),
  // 64-bit (0x04) and custom page sizes (0x08) would change what "a page" and "the cap" mean.
  if (flags > 0x01) throw forbidden(`declares a ${what} with limit flags 0x${flags.toString(16)} (shared, 64-bit or custom pages), which this host does not run`);
  const min = reader.u32();
  const max = flags === 0x01 ? reader.u32() : null;
  return { min, max };
}

/** A cursor over the binary; every read is bounds-checked. */
class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  byte(): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw malformed('unexpected end of the binary');
    this.pos++;
    return b;
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw malformed('unexpected end of the binary');
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }

  /** Unsigned LEB128, at most 5 bytes (32 bits). */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffff_ffff) throw malformed('integer too large');
        return result;
      }
    }
    throw malformed('integer too long');
  }
}

function malformed(why: string): PalyraError {
  return new PalyraError('PALYRA_TOOL_FAILED', `is not a valid WebAssembly module: ${why}`);
}

function forbidden(why: string): PalyraError {
  return new PalyraError('PALYRA_TOOL_FORBIDDEN', why);
}
