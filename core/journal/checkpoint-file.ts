import { canonicalJson, ioError, isSha256Hex, PalyraError, type JsonValue } from '../base/index.ts';
import type { CheckpointRecord } from './checkpoints.ts';
import { readRegularFile } from './regular-file.ts';
import { quoteUntrusted, untrustedProse } from './untrusted-text.ts';

// Reading `checkpoints.jsonl` (docs/journal-format.md, Checkpoints): lines, their form, and
// what makes one invalid. Checking signatures and the chain is verify's.

/** One line of the checkpoint file: a well-formed record, or why it is not one. */
export type CheckpointLine = { line: number; record: CheckpointRecord } | { line: number; problem: string };

/**
 * The checkpoint file is read whole; no honest one comes near this (a line of ~400 bytes
 * a minute is ~200 MB a year), and no Buffer can be larger on Node 20.
 */
const MAX_CHECKPOINT_FILE_BYTES = 2 ** 32 - 1;

/**
 * Reads every checkpoint line, or says why the file cannot be read as one: a path that is
 * not a regular file (a FIFO would block the read forever) or too large. A missing file
 * means no checkpoints. `journal verify` reports the second as a problem.
 */
export function readCheckpointFile(path: string): { lines: CheckpointLine[] } | { unreadable: string } {
  let read: ReturnType<typeof readRegularFile>;
  try {
    read = readRegularFile(path, MAX_CHECKPOINT_FILE_BYTES);
  } catch (error) {
    throw ioError(`read checkpoints "${path}"`, error);
  }
  if (read.type === 'missing') return { lines: [] };
  if (read.type === 'not-file') return { unreadable: 'it is not a regular file' };
  if (read.type === 'too-large') return { unreadable: `it is ${read.size} bytes, over the ${MAX_CHECKPOINT_FILE_BYTES} a checkpoint file may hold` };
  const bytes = read.bytes;
  const lines: CheckpointLine[] = [];
  // Split the bytes, not one string of the whole file: a string has a length limit (~512 MiB)
  // that a file of that size, honest or not, would otherwise turn into an I/O error.
  // A last line without its newline is a write cut by a crash; it was never acknowledged.
  for (let start = 0, number = 1; ; number++) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) break;
    const problem = lineProblem(bytes, start, end);
    if (problem !== null) lines.push(typeof problem === 'string' ? { line: number, problem } : { line: number, record: problem });
    start = end + 1;
  }
  return { lines };
}

/** Reads every checkpoint line; a missing file means no checkpoints, one that is not a file is refused. */
export function readCheckpoints(path: string): CheckpointLine[] {
  const read = readCheckpointFile(path);
  if ('lines' in read) return read.lines;
  throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `The checkpoint file "${path}" cannot be read: ${read.unreadable}; run 'palyrad journal verify'`);
}

/** A line's record or problem; null for a line holding only whitespace (skipped). */
function lineProblem(bytes: Buffer, start: number, end: number): string | CheckpointRecord | null {
  let content: string;
  try {
    content = bytes.toString('utf8', start, end);
  } catch {
    return `line is ${end - start} bytes, too long to read`;
  }
  if (content.trim() === '') return null;
  return checkpointShapeProblem(content);
}

function checkpointShapeProblem(content: string): string | CheckpointRecord {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(content) as Record<string, unknown>;
  } catch {
    return 'line is not JSON';
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'line is not an object';
  // JSON.parse keeps the last of a repeated key, other parsers the first: such a line could
  // verify here and read otherwise elsewhere. A writer never repeats a key.
  const repeated = repeatedKey(content);
  if (repeated !== null) return `key ${quoteUntrusted(repeated)} appears more than once in one object`;
  if (r.v !== 1) return `unsupported checkpoint version ${quoteUntrusted(r.v)}`;
  if (!Number.isSafeInteger(r.n) || (r.n as number) < 1) return 'n is not a positive integer';
  if (typeof r.origin !== 'string') return 'origin is missing';
  if (!Number.isSafeInteger(r.size) || (r.size as number) < 0) return 'size is not a count';
  if (!isSha256Hex(r.headHash)) return 'headHash is not a SHA-256 hex digest';
  if (!Number.isSafeInteger(r.ts)) return 'ts is not an integer';
  if (typeof r.keyId !== 'string') return 'keyId is missing';
  if (!isSha256Hex(r.prev)) return 'prev is not a SHA-256 hex digest';
  if (typeof r.sig !== 'string') return 'sig is missing';
  // One spelling only (standard base64 of 64 bytes, padded): Node's decoder would also take
  // URL-safe letters, no padding and whitespace, so a line's bytes could change and still verify.
  if (!ED25519_SIG_BASE64.test(r.sig)) return 'sig is not an Ed25519 signature in standard base64 (88 characters)';
  // Other keys are allowed (signed like the rest), but must have a canonical form to be signed or linked (1e400 parses to Infinity).
  try {
    canonicalJson(r as JsonValue);
  } catch (error) {
    return `it holds a value canonical JSON cannot express (${untrustedProse((error as Error).message)})`;
  }
  return r as unknown as CheckpointRecord;
}

// 64 bytes are 86 characters and 2 bits: the 86th character's 4 low bits are unused and must
// be zero (A, Q, g or w), or 16 spellings would decode to one signature.
const ED25519_SIG_BASE64 = /^[A-Za-z0-9+/]{85}[AQgw]==$/;

/**
 * The first key that appears twice in one object of `json`, which must be valid JSON (it
 * parsed), or null. Keys are compared as parsed: `"a"` and `"\u0061"` are one key.
 */
function repeatedKey(json: string): string | null {
  /** Per open bracket: the keys seen in that object, or null for an array. */
  const open: (Set<string> | null)[] = [];
  let atKey = false;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (code === 34) {
      const start = i;
      for (i++; json.charCodeAt(i) !== 34; i++) if (json.charCodeAt(i) === 92) i++;
      if (!atKey) continue;
      atKey = false;
      const key = JSON.parse(json.slice(start, i + 1)) as string;
      const keys = open[open.length - 1] as Set<string>;
      if (keys.has(key)) return key;
      keys.add(key);
    } else if (code === 123) {
      open.push(new Set());
      atKey = true;
    } else if (code === 91) {
      open.push(null);
    } else if (code === 125 || code === 93) {
      open.pop();
      atKey = false;
    } else if (code === 44) {
      atKey = open[open.length - 1] instanceof Set;
    }
  }
  return null;
}
