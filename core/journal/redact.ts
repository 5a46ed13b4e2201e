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
import { hiddenItems, type HiddenItem } from './secret-argv.ts';

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
const ASSIGNMENT_MARKER = redactionMarker('assignment');

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
  /** Keys already seen to need nothing (see redactKey). */
  readonly cleanKeys: Set<string>;
  /** Values never hidden under a secret name (see Redactor.redact). */
  readonly publicValues: readonly string[];
}

const NO_VALUES: readonly string[] = [];

/**
 * Object keys repeat from event to event (`prompt_tokens`, `exitCode`), so the ones the
 * text rules left alone are remembered, up to these limits; registering a secret forgets
 * them all.
 */
const CLEAN_KEY_LIMIT = 4096;
const CLEAN_KEY_MAX_LENGTH = 64;

/** Redacts journal payloads by key name, value shape and the secrets the process knows. */
export class Redactor {
  readonly #secrets = new Set<string>();
  #matcher: KnownMatcher | null = null;
  readonly #cleanKeys = new Set<string>();

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
    for (const form of secretForms(secret)) this.#secrets.add(form);
    this.#matcher = null;
    this.#cleanKeys.clear();
  }

  /**
   * Returns a redacted copy and the number of redactions made. Never mutates the input;
   * returns the same reference when nothing was redacted (and shares unchanged subtrees).
   * Throws a TypeError for payloads nested deeper than 256 levels.
   */
  redact(
    value: JsonValue,
    options: {
      /**
       * Values stored in the clear beside the payload anyway (the event's own session and
       * run ids): hiding them under a secret-sounding key (`sessionId`) protects nothing and
       * would make every such event claim a redaction.
       */
      publicValues?: readonly string[];
    } = {},
  ): RedactionResult {
    const pass: Pass = { count: 0, known: this.#knownMatcher(), cleanKeys: this.#cleanKeys, publicValues: options.publicValues ?? NO_VALUES };
    const redacted = walk(value, 0, 0, pass);
    return { value: redacted, count: pass.count };
  }

  /**
   * Replaces only the registered secrets (in every form addSecret knows), in strings and
   * object keys at any depth; no name or shape rule. For text a model or client will read,
   * such as tool output: a tool running as the daemon's user can read the daemon's own
   * secrets (`/proc/<pid>/environ`, the state directory), and those must not travel on.
   * Same reference back when nothing was found. Throws a TypeError past 256 levels.
   */
  hideKnownSecrets(value: JsonValue): RedactionResult {
    const known = this.#knownMatcher();
    if (known === null) return { value, count: 0 };
    const tally = { count: 0 };
    return { value: hideKnown(value, 0, known, tally), count: tally.count };
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

/**
 * The forms a secret takes when written down: as it is, in a query string (either case of
 * percent-escapes, `+` for spaces), in unparsed JSON text, and in base64 (standard and
 * URL-safe, at each of the three byte alignments it can start at: `Basic base64(user:P)`
 * holds P's base64 shifted by the user name). Each form shorter than a secret is dropped.
 */
function secretForms(secret: string): Set<string> {
  const escaped = encodeURIComponent(secret);
  const forms = new Set([secret, escaped, escaped.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()), escaped.replace(/%20/g, '+'), JSON.stringify(secret).slice(1, -1)]);
  const bytes = Buffer.from(secret, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // Only the characters whose six bits all come from the secret itself.
    const inner = encoded.slice(Math.ceil((shift * 8) / 6), Math.floor(((shift + bytes.length) * 8) / 6));
    if (inner.length < MIN_SECRET_LENGTH) continue;
    forms.add(inner);
    forms.add(inner.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms;
}

function hideKnown(value: JsonValue, depth: number, known: KnownMatcher, tally: { count: number }): JsonValue {
  if (typeof value === 'string') return hideKnownIn(value, known, tally);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) throw new NestingTooDeep();
  if (Array.isArray(value)) {
    let out: JsonValue[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i] as JsonValue;
      const next = hideKnown(item, depth + 1, known, tally);
      if (out === undefined && next !== item) out = value.slice(0, i);
      out?.push(next);
    }
    return out ?? value;
  }
  let out: { [key: string]: JsonValue } | undefined;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = value[key] as JsonValue;
    const next = hideKnown(item, depth + 1, known, tally);
    const nextKey = hideKnownIn(key, known, tally);
    if (out === undefined) {
      if (next === item && nextKey === key) continue;
      out = copyOfFirst(value, keys, i);
    }
    setOwn(out, unusedKey(out, nextKey), next);
  }
  return out ?? value;
}

function hideKnownIn(text: string, known: KnownMatcher, tally: { count: number }): string {
  if (text.length < MIN_SECRET_LENGTH || !known.test.test(text)) return text;
  return text.replace(known.all, () => {
    tally.count++;
    return KNOWN_MARKER;
  });
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

function walkArray(array: JsonValue[], depth: number, embedded: number, pass: Pass): JsonValue {
  let out: JsonValue[] | undefined;
  // Names and values in separate items (an argv, a key split into lines, a pair).
  const hidden = hiddenItems(array);
  for (let i = 0; i < array.length; i++) {
    const item = array[i] as JsonValue;
    const rule = hidden?.get(i);
    const next = rule !== undefined ? redactItem(item, rule, pass) : walk(item, depth + 1, embedded, pass);
    if (out === undefined && next !== item) out = array.slice(0, i);
    out?.push(next);
  }
  return out ?? array;
}

function redactItem(item: JsonValue, rule: HiddenItem, pass: Pass): JsonValue {
  if (rule.whole || typeof item !== 'string') return redactWhole(item, pass);
  const rest = item.slice(rule.keep);
  if (rest === '' || rest === ASSIGNMENT_MARKER || rest === KEY_MARKER) return item;
  pass.count++;
  return item.slice(0, rule.keep) + ASSIGNMENT_MARKER;
}

/** Fields that hold the value of a `{name, value}` pair (HAR headers, Kubernetes env). */
const PAIR_NAMES = ['name', 'Name', 'key', 'Key'] as const;
const PAIR_VALUES = new Set(['value', 'Value', 'val', 'data']);
/** A JSON Schema under `properties`: its keys are parameter names, not secrets. */
const SCHEMA_KEYWORDS = ['type', 'description', '$ref', 'anyOf', 'oneOf', 'allOf', 'items', 'properties', 'format', 'title'];
/** Values a schema of a secret parameter may carry: hidden like the parameter's own value would be. */
const SCHEMA_VALUES = new Set(['default', 'const', 'example', 'examples', 'enum']);

function isSchema(value: JsonValue): value is { [key: string]: JsonValue } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return SCHEMA_KEYWORDS.some((k) => Object.hasOwn(value, k));
}

/** Whether `object` is a `{name: "password", value: ...}` pair whose name says its value is secret. */
function namesSecretPair(object: { [key: string]: JsonValue }): boolean {
  for (const field of PAIR_NAMES) {
    const name = object[field];
    if (typeof name === 'string' && Object.hasOwn(object, field) && isSensitiveKey(name)) return true;
  }
  return false;
}

function walkObject(
  object: { [key: string]: JsonValue },
  depth: number,
  embedded: number,
  pass: Pass,
  /** `schemaProperties`: the properties of a JSON Schema; `secretSchema`: the schema of a secret parameter. */
  within: 'schemaProperties' | 'secretSchema' | null = null,
): JsonValue {
  let out: { [key: string]: JsonValue } | undefined;
  const keys = Object.keys(object);
  // Whether this is a `{name: "password", value: ...}` pair: asked only when a value field comes.
  let secretPair: boolean | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = object[key] as JsonValue;
    if (secretPair === undefined && PAIR_VALUES.has(key)) secretPair = namesSecretPair(object);
    const next = walkField(key, item, depth, embedded, pass, within, secretPair === true);
    // Keys are data too: a known secret or token used as a key must not reach disk.
    const nextKey = redactKey(key, pass);
    if (out === undefined) {
      if (next === item && nextKey === key) continue;
      out = copyOfFirst(object, keys, i);
    }
    setOwn(out, unusedKey(out, nextKey), next);
  }
  return out ?? object;
}

function walkField(
  key: string,
  item: JsonValue,
  depth: number,
  embedded: number,
  pass: Pass,
  within: 'schemaProperties' | 'secretSchema' | null,
  secretPair: boolean,
): JsonValue {
  if (within === 'secretSchema' && SCHEMA_VALUES.has(key)) return redactWhole(item, pass);
  if (secretPair && PAIR_VALUES.has(key)) return redactWhole(item, pass);
  const sensitive = isSensitiveKey(key);
  if (within === 'schemaProperties' && isSchema(item)) {
    if (depth + 1 >= MAX_DEPTH) throw new NestingTooDeep();
    return walkObject(item, depth + 1, embedded, pass, sensitive ? 'secretSchema' : null);
  }
  if (sensitive) return redactWhole(item, pass);
  if (key === 'properties' && item !== null && typeof item === 'object' && !Array.isArray(item)) {
    if (depth + 1 >= MAX_DEPTH) throw new NestingTooDeep();
    return walkObject(item, depth + 1, embedded, pass, 'schemaProperties');
  }
  return walk(item, depth + 1, embedded, pass);
}

function redactKey(key: string, pass: Pass): string {
  if (key.length < MIN_SUSPICIOUS_LENGTH || pass.cleanKeys.has(key)) return key;
  const next = redactPlain(key, pass);
  if (next === key && key.length <= CLEAN_KEY_MAX_LENGTH && pass.cleanKeys.size < CLEAN_KEY_LIMIT) pass.cleanKeys.add(key);
  return next;
}

function redactWhole(value: JsonValue, pass: Pass): JsonValue {
  // Already a marker (a payload redacted twice): nothing is removed, so nothing counts.
  // true, false and null hold no secret (`"auth": false`); they stay as data.
  if (value === KEY_MARKER || value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string' && pass.publicValues.includes(value)) return value;
  pass.count++;
  return KEY_MARKER;
}

/** A new object with the first `count` of `keys` from `object`: where a changed copy starts. */
function copyOfFirst(object: { [key: string]: JsonValue }, keys: readonly string[], count: number): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (let j = 0; j < count; j++) setOwn(out, keys[j] as string, object[keys[j] as string] as JsonValue);
  return out;
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

/**
 * The text rules, also over the text as its reader would see it once escapes are undone:
 * `{"\u0070assword": …}` in a log line, `password%3DP` in an encoded form body,
 * `https:\/\/bob:P@host` in JSON-escaped text. When that decoded form hides more than the
 * text as written, the decoded form, redacted, replaces it (its escapes are lost only
 * where something was removed).
 */
function redactPlain(text: string, pass: Pass): string {
  const before = pass.count;
  const plain = redactPlainOnce(text, pass);
  const shadow = decodedShadow(text);
  if (shadow === null) return plain;
  const probe: Pass = { count: 0, known: pass.known, cleanKeys: pass.cleanKeys, publicValues: pass.publicValues };
  const decoded = redactPlainOnce(shadow, probe);
  if (probe.count <= pass.count - before) return plain;
  pass.count = before + probe.count;
  return decoded;
}

const ESCAPE_HINT = /\\u00[2-7]|\\\/|%[2-7][0-9A-Fa-f]/;
const ESCAPES = /\\u00([2-7][0-9A-Fa-f])|\\\/|%([2-7][0-9A-Fa-f])/g;

/** `text` with its escapes of printable ASCII decoded (`\uXXXX`, `\/`, `%XX`), or null when it has none. */
function decodedShadow(text: string): string | null {
  // indexOf first: native and ~10x cheaper than the regex on the common string with neither.
  if ((text.indexOf('\\') === -1 && text.indexOf('%') === -1) || !ESCAPE_HINT.test(text)) return null;
  const decoded = text.replace(ESCAPES, (match: string, unicode?: string, percent?: string) => {
    const hex = unicode ?? percent;
    const code = hex === undefined ? 47 /* \/ */ : Number.parseInt(hex, 16);
    return code >= 0x20 && code <= 0x7e ? String.fromCharCode(code) : match;
  });
  return decoded === text ? null : decoded;
}

/** Known secrets first, so a registered `sk-...` key counts as known_secret. */
function redactPlainOnce(text: string, pass: Pass): string {
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
  // Security: parsing a megabyte of `[[[[…` only to refuse its depth costs ~0.5 s.
  if (nestsDeeperThan(text, MAX_DEPTH - depth)) return undefined;
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
  // A separate tally: a walk abandoned half-way must not leave counts behind.
  const inner: Pass = { count: 0, known: pass.known, cleanKeys: pass.cleanKeys, publicValues: pass.publicValues };
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

/** Whether JSON text nests brackets deeper than `limit` (strings skipped); stops at the first level too deep. */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 34) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (code === 123 || code === 91) {
      if (++depth > limit) return true;
    } else if (code === 125 || code === 93) {
      depth--;
    }
  }
  return false;
}
