/**
 * Secrets written as text next to the name that says what they are: `key=value` and
 * `key: value` assignments, header lines, command-line flags (`--password P`, `-pP` for
 * mysql, `curl -u user:P`), quoted values after SQL's `PASSWORD`, `.netrc` and
 * Dockerfile `ENV` lines, YAML block values.
 *
 * Security: every scan here is linear in the text. A payload is caller data and is
 * redacted on the daemon's event loop, so a search that could start again from every
 * match (the next newline, the closing quote) remembers how far it has already looked.
 */
import { MARKER_PREFIX, markerLengthAt, redactionMarker, type Tally } from './redaction-markers.ts';
import { isSensitiveKey } from './secret-keys.ts';

const ASSIGNMENT_MARK = redactionMarker('assignment');

// `key=`, `key: `, `"key": `, `key := `, `key => `, and `\"key\": ` (JSON inside a JSON
// string, seen as text, escaped to any depth); the key must not start mid-word.
const ASSIGNMENT = /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+)(\\*["'])?[ \t]*(:=|=>|==?|:)[ \t]*/g;
// `Authorization: Basic xyz` redacts `xyz`, not the scheme name.
const AUTH_SCHEME = /(?:basic|bearer|digest|token|negotiate|ntlm|ssws|apikey|bot)[ \t]+(?=[^\s"'])/iy;
/** Header names whose whole value (to the end of the line) is a credential. */
const WHOLE_LINE_KEY = /^(?:proxy-)?authorization$|^(?:set-)?cookie$/i;
/** A YAML block scalar indicator (`|`, `>-`, `|2`) ending the line. */
const BLOCK_INDICATOR = /[|>][+-]?[0-9]?[ \t]*(?=\r?\n|$)/y;
/** The most backslashes a quote may carry to count as one (JSON in JSON in JSON: 7). */
const MAX_QUOTE_ESCAPES = 7;

/** Forward searches over one text that never look again at a stretch already searched. */
class TextScan {
  private newlineFrom = Infinity;
  private newlineAt = -1;
  private readonly closes = new Map<string, { from: number; none: number }>();

  constructor(readonly text: string) {}

  /** The index of the first newline at or after `from`, or the text's length. */
  lineEnd(from: number): number {
    if (from < this.newlineFrom || from > this.newlineAt) {
      const at = this.text.indexOf('\n', from);
      this.newlineFrom = from;
      this.newlineAt = at === -1 ? this.text.length : at;
    }
    return this.newlineAt;
  }

  /**
   * The first `delimiter` at or after `from` that no backslash escapes, if it comes before
   * `limit`; -1 otherwise.
   */
  closingQuote(delimiter: string, from: number, limit: number): number {
    const known = this.closes.get(delimiter);
    let at = known !== undefined && known.from <= from && from < known.none ? known.none : from;
    for (;;) {
      at = this.text.indexOf(delimiter, at);
      if (at === -1) at = this.text.length;
      if (at >= this.text.length || this.text.charCodeAt(at - 1) !== 92 /* \ */) break;
      at++;
    }
    this.closes.set(delimiter, { from: known !== undefined && known.from <= from && from <= known.none ? known.from : from, none: at });
    return at < limit ? at : -1;
  }
}

function isValueEnd(code: number): boolean {
  // whitespace and control characters, `"`, `'`
  return code <= 32 || code === 34 || code === 39;
}

/** A marker standing alone as the value: left as it is (redacting twice counts nothing). */
function isWholeMarker(text: string, from: number, end: number): boolean {
  const length = markerLengthAt(text, from);
  return length > 0 && from + length === end;
}

/** `&name=` after a value: the next query parameter, so the value ends at the `&`. */
const NEXT_PARAMETER = /&[A-Za-z0-9_.[\]-]+=/y;

/** The end of an unquoted value starting at `from`: whitespace or a quote; `&` only before another parameter. */
function unquotedEnd(text: string, from: number): number {
  let end = from;
  for (; end < text.length; end++) {
    const code = text.charCodeAt(end);
    if (isValueEnd(code)) break;
    if (code === 38 /* & */) {
      NEXT_PARAMETER.lastIndex = end;
      if (NEXT_PARAMETER.test(text)) break;
    }
  }
  return end;
}

/**
 * The end of a bracketed value starting at `from` (`{...}` or `[...]`), quoted strings
 * skipped; the end of the text when it never closes (capped tool output).
 */
function bracketEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 34 || code === 39) {
      // Skip a quoted string; an unterminated one runs to the end.
      for (i++; i < text.length && text.charCodeAt(i) !== code; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (code === 123 || code === 91) {
      depth++;
    } else if (code === 125 || code === 93) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** The more-indented lines after the line holding `keyStart` (a YAML block value): their span, or null. */
function indentedBlock(text: string, keyStart: number, lineEnd: number): [number, number] | null {
  let lineStart = keyStart;
  while (lineStart > 0 && text.charCodeAt(lineStart - 1) !== 10) lineStart--;
  let indent = 0;
  while (text.charCodeAt(lineStart + indent) === 32) indent++;
  let end = lineEnd;
  let cursor = lineEnd;
  while (cursor < text.length) {
    const start = cursor + 1;
    let next = text.indexOf('\n', start);
    if (next === -1) next = text.length;
    let spaces = 0;
    while (text.charCodeAt(start + spaces) === 32) spaces++;
    const blank = start + spaces >= next || text.charCodeAt(start + spaces) === 13;
    if (!blank && spaces <= indent) break;
    if (!blank) end = next;
    cursor = next;
  }
  return end > lineEnd ? [lineEnd + 1, end] : null;
}

interface ValueContext {
  text: string;
  scan: TextScan;
  /** The name before the value (`password`, `--token`, `Authorization`). */
  key: string;
  /** Where the name starts: its line's indentation governs YAML blocks. */
  keyStart: number;
  /** `:` (to the end of the line), `=` (to whitespace) or ` ` (a flag's separate value). */
  separator: ':' | '=' | ' ';
}

/** The span of the value assigned at `start`, or null when there is nothing to hide. */
function valueSpan(start: number, c: ValueContext): [number, number] | null {
  const { text, scan } = c;
  const lineEnd = scan.lineEnd(start);
  let from = start;
  // `b'...'`, `u"..."`: a one-letter string prefix before a quote.
  if (/[bBuUrRfF]/.test(text[from] ?? '') && (text[from + 1] === '"' || text[from + 1] === "'")) from++;
  let escapes = 0;
  while (text.charCodeAt(from + escapes) === 92 && escapes <= MAX_QUOTE_ESCAPES) escapes++;
  const quote = text[from + escapes];
  if ((quote === '"' || quote === "'") && escapes <= MAX_QUOTE_ESCAPES) {
    const delimiter = text.slice(from, from + escapes + 1);
    const open = from + escapes + 1;
    const close = scan.closingQuote(delimiter, open, lineEnd);
    if (close !== -1) return close > open && !isWholeMarker(text, open, close) ? [open, close] : null;
    from = open; // not closed on this line: an unquoted value after the quote
  }
  const first = text.charCodeAt(from);
  if (first === 123 || (first === 91 && !text.startsWith(MARKER_PREFIX, from))) return [from, bracketEnd(text, from)];
  if (WHOLE_LINE_KEY.test(c.key)) return wholeLineValue(from, lineEnd, c);
  if (c.separator === ':' || c.separator === ' ') {
    BLOCK_INDICATOR.lastIndex = from;
    if (from >= lineEnd || text.charCodeAt(from) === 13 || BLOCK_INDICATOR.test(text)) {
      return c.separator === ':' ? indentedBlock(text, c.keyStart, lineEnd) : null;
    }
  }
  AUTH_SCHEME.lastIndex = from;
  if (AUTH_SCHEME.test(text)) from = AUTH_SCHEME.lastIndex;
  // `passphrase: correct horse battery staple`: after `:` a value may hold spaces and
  // runs to the end of the line (or a quote around the whole assignment).
  const end = c.separator === ':' ? lineOrQuoteEnd(text, from, lineEnd) : unquotedEnd(text, from);
  if (end === from || isWholeMarker(text, from, end)) return null;
  return [from, end];
}

function lineOrQuoteEnd(text: string, from: number, lineEnd: number): number {
  let end = from;
  while (end < lineEnd && text.charCodeAt(end) !== 34 && text.charCodeAt(end) !== 39 && text.charCodeAt(end) !== 13) end++;
  while (end > from && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return end;
}

/**
 * `Authorization: Digest username="a", response="b"`, `Cookie: a=1; sid=x`: everything to
 * the end of the line is the credential, up to the quote that opened the whole header
 * (`curl -H 'Cookie: ...'`). A known scheme name is kept.
 */
function wholeLineValue(from: number, lineEnd: number, c: ValueContext): [number, number] | null {
  const { text } = c;
  AUTH_SCHEME.lastIndex = from;
  if (AUTH_SCHEME.test(text)) from = AUTH_SCHEME.lastIndex;
  const opener = text[c.keyStart - 1];
  let end = lineEnd;
  if (opener === '"' || opener === "'") {
    const close = text.indexOf(opener, from);
    if (close !== -1 && close < end) end = close;
  }
  while (end > from && text.charCodeAt(end - 1) <= 32) end--;
  if (end <= from || isWholeMarker(text, from, end)) return null;
  return [from, end];
}

/** One rule's matches: the name of the secret and where its value starts. */
interface Rule {
  pattern: RegExp;
  /** The key and separator of a match, or null when the match does not name a secret. */
  read(match: RegExpExecArray): { key: string; separator: ValueContext['separator'] } | null;
  /** Only where this came earlier on the same line, at most `within` characters before (the command a short flag belongs to). */
  after?: { pattern: RegExp; within: number };
}

const PASSWORD = { key: 'password', separator: '=' } as const;

const RULES: readonly Rule[] = [
  {
    pattern: ASSIGNMENT,
    read: (m) => (isSensitiveKey(m[1] as string) ? { key: bareName(m[1] as string), separator: m[3] === ':' ? ':' : '=' } : null),
  },
  {
    // `--password P`, `-token P`: a flag whose name says its value is secret, then the value.
    pattern: /(?<![A-Za-z0-9_.-])--?([A-Za-z][A-Za-z0-9_.-]*)[ \t]+(?=[^\s-]|-[^\s-])/g,
    read: (m) => (isSensitiveKey(m[1] as string) ? { key: m[1] as string, separator: ' ' } : null),
  },
  {
    // SQL `WITH PASSWORD 'P'`, `IDENTIFIED BY 'P'`, and any `...password 'P'`: a quoted value after the word.
    pattern: /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]*(?:password|passwd|passphrase)|identified[ \t]+by)[ \t]+(?=\\*["'])/gi,
    read: (m) => ({ key: m[1] as string, separator: '=' }),
  },
  {
    // Dockerfile `ENV DB_PASSWORD P` (the old form without `=`).
    pattern: /^[ \t]*ENV[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+(?=[^\s=])/gm,
    read: (m) => (isSensitiveKey(m[1] as string) ? { key: m[1] as string, separator: ':' } : null),
  },
  {
    // `.netrc`: `machine h login bob password P`.
    pattern: /(?<![A-Za-z0-9_.-])(password|passwd)[ \t]+(?=[^\s"'])/g,
    read: () => PASSWORD,
    after: { pattern: /\b(?:machine|login)\b/g, within: 200 },
  },
  {
    // mysql's password is attached to its short flag: `mysql -uroot -pP`.
    pattern: /(?<=[ \t])-p(?=[^\s-])/g,
    read: () => PASSWORD,
    after: { pattern: /\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mariadb|mariadb-dump)\b/g, within: 500 },
  },
  {
    // `sshpass -p P`, `docker login -u bob -p P` (podman, helm, oras, az: the same flag).
    pattern: /(?<=[ \t])-p(?:[ \t]+|=)(?=\S)/g,
    read: () => PASSWORD,
    after: { pattern: /\b(?:sshpass|login)\b/g, within: 300 },
  },
  {
    // `curl -u admin:P`, `--user admin:P`: the part after the first colon.
    pattern: /(?<![A-Za-z0-9_.-])(?:-u[ \t]*|--user(?:[ \t]+|=))["']?[^\s:"'@]+:(?=[^\s"'])/g,
    read: () => PASSWORD,
  },
];

/** `--password` and `"password"` name the same secret. */
function bareName(key: string): string {
  return key.replace(/^-+/, '');
}

/**
 * Replaces the values the rules above find, one marker per value, adding to
 * `tally.count`. Returns `text` itself when nothing was replaced.
 */
export function redactAssignments(text: string, tally: Tally): string {
  let out = text;
  for (const rule of RULES) out = applyRule(rule, out, tally);
  return out;
}

function applyRule(rule: Rule, text: string, tally: Tally): string {
  const scan = new TextScan(text);
  const pattern = rule.pattern;
  let out: string | undefined;
  let copied = 0;
  pattern.lastIndex = 0;
  const triggers = rule.after === undefined ? null : triggerEnds(text, rule.after.pattern);
  let trigger = -1;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m[0] === '') {
      pattern.lastIndex++;
      continue;
    }
    if (triggers !== null && rule.after !== undefined) {
      // Matches come in order: the pointer only moves forward (linear in all).
      while (trigger + 1 < triggers.length && (triggers[trigger + 1] as number) <= m.index) trigger++;
      const end = trigger >= 0 ? (triggers[trigger] as number) : -1;
      if (end < 0 || m.index - end > rule.after.within || scan.lineEnd(end) < m.index) continue;
    }
    const named = rule.read(m);
    if (named === null) continue;
    const start = m.index + m[0].length;
    const span = valueSpan(start, { text, scan, key: named.key, keyStart: keyStartOf(m), separator: named.separator });
    if (span === null || span[0] < copied) continue;
    out = (out ?? '') + text.slice(copied, span[0]) + ASSIGNMENT_MARK;
    copied = span[1];
    tally.count++;
    pattern.lastIndex = Math.max(pattern.lastIndex, span[1]);
  }
  return out === undefined ? text : out + text.slice(copied);
}

/** Where each match of `pattern` ends, in order. */
function triggerEnds(text: string, pattern: RegExp): number[] {
  const ends: number[] = [];
  for (const m of text.matchAll(pattern)) ends.push(m.index + m[0].length);
  return ends;
}

/** Where the name of a match starts (its first capture, else the match). */
function keyStartOf(m: RegExpExecArray): number {
  const name = m[1];
  if (name === undefined) return m.index;
  const at = m[0].indexOf(name);
  return at === -1 ? m.index : m.index + at;
}

/**
 * A regex source matching any text some rule here may act on, for cheap pre-tests (with
 * `HINTS` replaced by the hint words of sensitive keys, case-insensitive).
 * Security: anchored where a rule's match is, and the assignment hint looks back from
 * each `=`/`:`; scanning forward from every hint word is quadratic on `keykeykey…`.
 */
export const ASSIGNMENT_HINT =
  String.raw`[=:](?<=(?:HINTS)[\w.-]*(?:\\*["'])?\s*[=:])|(?<![\w.-])-(?:-?(?=[A-Za-z])[\w.-]*?(?:HINTS)|-user)|[ \t]-[pu]|` +
  String.raw`p(?:assw(?:or)?d|assphrase)[ \t]|identified[ \t]+by|\benv[ \t]`;
