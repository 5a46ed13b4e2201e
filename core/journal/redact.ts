/**
 * Removes secrets from journal event payloads before they are written to disk.
 *
 * Security: the journal is append-only and hash-chained, so a secret that reaches disk
 * cannot be taken back without breaking the chain. Everything here errs towards
 * redacting too much.
 */
import type { JsonValue } from '../base/index.ts';
import {
  MARKER_PREFIX,
  isSensitiveKey,
  redactSecretShapes,
  redactionMarker,
} from './secret-shapes.ts';
import type { Tally } from './secret-shapes.ts';

export { isSensitiveKey, redactionMarker } from './secret-shapes.ts';
export type { RedactionKind } from './secret-shapes.ts';

/** A redacted payload and how many values or spans were replaced by markers. */
export interface RedactionResult {
  value: JsonValue;
  count: number;
}

const MAX_DEPTH = 256;
const MAX_EMBEDDED_DEPTH = 4;
// Measured in UTF-16 code units, the cheap proxy for 1 MiB.
const MAX_EMBEDDED_JSON_LENGTH = 1024 * 1024;
const MIN_SECRET_LENGTH = 8;
// Nothing shorter can hold a secret: the shortest match is an assignment like `pin=1`.
const MIN_SUSPICIOUS_LENGTH = 5;
const KEY_MARKER = redactionMarker('key');
const KNOWN_MARKER = redactionMarker('known_secret');

/** Private so that embedded JSON can tell its own depth overflow from any other error. */
class NestingTooDeep extends TypeError {
  constructor() {
    super(`Cannot redact payload: nesting deeper than ${MAX_DEPTH} levels`);
  }
}

/** Regexes over every registered secret; `test` is non-global so it keeps no state. */
interface KnownMatcher {
  readonly test: RegExp;
  readonly all: RegExp;
}

interface Pass extends Tally {
  readonly known: KnownMatcher | null;
}

/** Redacts journal payloads by key name, value shape and the secrets the process knows. */
export class Redactor {
  readonly #secrets = new Set<string>();
  #matcher: KnownMatcher | null = null;

  constructor(options?: { knownSecrets?: Iterable<string> }) {
    for (const secret of options?.knownSecrets ?? []) this.addSecret(secret);
  }

  /**
   * Registers a secret value the process knows (provider key, admin token...), to be
   * replaced wherever it occurs, inside nested and embedded JSON strings and object keys.
   * Values shorter than 8 characters are refused with a TypeError (they would redact
   * ordinary words).
   */
  addSecret(secret: string): void {
    // Security: the messages never include the value.
    if (typeof secret !== 'string') throw new TypeError('Cannot register secret: not a string');
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new TypeError(`Cannot register secret: shorter than ${MIN_SECRET_LENGTH} characters`);
    }
    // Also the forms it takes in a query string and in unparsed JSON text.
    for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) {
      this.#secrets.add(form);
    }
    this.#matcher = null;
  }

  /**
   * Returns a redacted copy and the number of redactions made. Never mutates the input;
   * returns the same reference when nothing was redacted (and shares unchanged subtrees).
   * Throws a TypeError for payloads nested deeper than 256 levels.
   */
  redact(value: JsonValue): RedactionResult {
    const pass: Pass = { count: 0, known: this.#knownMatcher() };
    const redacted = walk(value, 0, 0, pass);
    return { value: redacted, count: pass.count };
  }

  #knownMatcher(): KnownMatcher | null {
    if (this.#matcher === null && this.#secrets.size > 0) {
      // Longest first: at one position the alternation takes the first that matches, so
      // a secret that extends another is removed whole.
      const source = [...this.#secrets]
        .sort((a, b) => b.length - a.length)
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|');
      this.#matcher = { test: new RegExp(source), all: new RegExp(source, 'g') };
    }
    return this.#matcher;
  }
}

// Invariant for every function below: the result is the input reference exactly when
// nothing was counted, which is what lets `redact` return the input when clean.
function walk(value: JsonValue, depth: number, embedded: number, pass: Pass): JsonValue {
  if (typeof value === 'string') return redactString(value, depth, embedded, pass);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) throw new NestingTooDeep();
  if (Array.isArray(value)) return walkArray(value, depth, embedded, pass);
  return walkObject(value, depth, embedded, pass);
}

/** `--password`, `-token`, `--api-key`: a command-line flag whose name says its value is secret. */
const FLAG = /^--?([A-Za-z][\w.-]*)$/;

function walkArray(array: JsonValue[], depth: number, embedded: number, pass: Pass): JsonValue {
  let out: JsonValue[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i] as JsonValue;
    // An argv split in two (`["mysql", "--password", "hunter2"]`): the word after a
    // sensitive flag is its value (`--password=hunter2` is caught as an assignment).
    const previous = i > 0 ? array[i - 1] : undefined;
    const word = typeof item === 'string' && item !== '' && !item.startsWith('-') ? item : null;
    const flag = typeof previous === 'string' && word !== null ? FLAG.exec(previous) : null;
    const next = flag !== null && isSensitiveKey(flag[1] as string) ? redactWhole(item, pass) : walk(item, depth + 1, embedded, pass);
    if (out === undefined && next !== item) out = array.slice(0, i);
    out?.push(next);
  }
  return out ?? array;
}

function walkObject(
  object: { [key: string]: JsonValue },
  depth: number,
  embedded: number,
  pass: Pass,
): JsonValue {
  let out: { [key: string]: JsonValue } | undefined;
  const keys = Object.keys(object);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = object[key] as JsonValue;
    const next = isSensitiveKey(key) ? redactWhole(item, pass) : walk(item, depth + 1, embedded, pass);
    // Keys are data too: a known secret or token used as a key must not reach disk.
    const nextKey = key.length < MIN_SUSPICIOUS_LENGTH ? key : redactPlain(key, pass);
    if (out === undefined) {
      if (next === item && nextKey === key) continue;
      out = {};
      for (let j = 0; j < i; j++) setOwn(out, keys[j] as string, object[keys[j] as string] as JsonValue);
    }
    setOwn(out, unusedKey(out, nextKey), next);
  }
  return out ?? object;
}

function redactWhole(value: JsonValue, pass: Pass): JsonValue {
  // Already a marker (a payload redacted twice): nothing is removed, so nothing counts.
  if (value === KEY_MARKER) return value;
  pass.count++;
  return KEY_MARKER;
}

/** Two keys redacted to the same marker must not overwrite each other. */
function unusedKey(out: { [key: string]: JsonValue }, key: string): string {
  if (!Object.hasOwn(out, key)) return key;
  let n = 2;
  while (Object.hasOwn(out, `${key}#${n}`)) n++;
  return `${key}#${n}`;
}

function setOwn(out: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  // Security: plain assignment of `__proto__` (a legal JSON key) would swap the prototype.
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

function redactString(text: string, depth: number, embedded: number, pass: Pass): string {
  if (text.length < MIN_SUSPICIOUS_LENGTH) return text;
  if (embedded < MAX_EMBEDDED_DEPTH && looksLikeJson(text)) {
    const redacted = redactEmbeddedJson(text, depth, embedded, pass);
    if (redacted !== undefined) return redacted;
  }
  return redactPlain(text, pass);
}

/** Known secrets first, so a registered `sk-...` key counts as known_secret. */
function redactPlain(text: string, pass: Pass): string {
  let out = text;
  const known = pass.known;
  if (known !== null && known.test.test(text)) {
    out = text.replace(known.all, () => {
      pass.count++;
      return KNOWN_MARKER;
    });
  }
  return redactSecretShapes(out, pass);
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

/** `{...}` or `[...]` around optional whitespace, and not a marker; parsing is costly. */
function looksLikeJson(text: string): boolean {
  if (text.length > MAX_EMBEDDED_JSON_LENGTH) return false;
  let start = 0;
  let end = text.length - 1;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end))) end--;
  const open = text.charCodeAt(start);
  const close = text.charCodeAt(end);
  if (open === 123) return close === 125; // { }
  return open === 91 && close === 93 && !text.startsWith(MARKER_PREFIX, start); // [ ]
}

/**
 * Redacts the parsed value of a JSON string; undefined when the text is not JSON, nests
 * too deep or had nothing to redact, so the caller falls back to the plain-string rules. A changed value is
 * re-serialised compactly (formatting is lost only where something was removed).
 */
function redactEmbeddedJson(
  text: string,
  depth: number,
  embedded: number,
  pass: Pass,
): string | undefined {
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
  // A separate tally: a walk abandoned half-way must not leave counts behind.
  const inner: Pass = { count: 0, known: pass.known };
  let redacted: JsonValue;
  try {
    redacted = walk(parsed, depth, embedded + 1, inner);
  } catch (error) {
    if (error instanceof NestingTooDeep) return undefined;
    throw error;
  }
  // Nothing found in the parsed value is not proof: JSON.parse keeps only the last of a
  // repeated key, so `{"note":"sk-…","note":"x"}` parses clean. The text itself, as
  // stored, then goes through the plain-string rules.
  if (inner.count === 0) return undefined;
  pass.count += inner.count;
  return JSON.stringify(redacted);
}
