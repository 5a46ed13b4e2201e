/**
 * What a secret looks like: sensitive key names (matched on whole words) and value shapes
 * found inside strings. Pure functions over strings; the journal redactor walks payloads
 * and calls these.
 */

/** Why a span or value was removed; the kind is written into the marker. */
export type RedactionKind =
  | 'key'
  | 'known_secret'
  | 'bearer'
  | 'api_key_shape'
  | 'aws_key'
  | 'github_token'
  | 'slack_token'
  | 'jwt'
  | 'private_key'
  | 'url_credentials'
  | 'assignment';

/** Counts redactions across one redaction pass. */
export interface Tally {
  count: number;
}

/** The text every marker starts with; values starting with it are never re-redacted. */
export const MARKER_PREFIX = '[REDACTED:';

/**
 * The exact string that replaces a redacted value or span, e.g. `[REDACTED:bearer]`.
 *
 * Invariant: a marker is only ever a claim when the event's redaction count is above zero.
 * Payload data may contain the same text (an agent can echo it); with a count of 0 such a
 * lookalike is data, so readers must trust the count, not the text.
 */
export function redactionMarker(kind: RedactionKind): string {
  return `${MARKER_PREFIX}${kind}]`;
}

const SENSITIVE_WORDS = new Set([
  'password', 'passwords', 'passwd', 'passphrase', 'passphrases', 'pwd', 'secret', 'secrets', 'token', 'authorization',
  'cookie', 'cookies', 'credential', 'credentials', 'pin', 'pincode', 'signature', 'signatures',
  'privatekey', 'apikey', 'accesskey', 'sessionid',
]);
const SENSITIVE_PAIRS = new Set([
  'api key', 'private key', 'access key', 'secret key', 'signing key', 'encryption key',
  'client secret', 'session id', 'set cookie', 'auth token', 'pass word',
  // Plurals: a list of keys is as secret as one. `tokens` alone is not (`prompt_tokens`).
  'api keys', 'private keys', 'access keys', 'secret keys', 'signing keys', 'encryption keys',
  'client secrets', 'session ids', 'auth tokens', 'access tokens', 'refresh tokens', 'bearer tokens', 'api tokens', 'id tokens',
]);
// Written-together forms of every pair (`clientsecret`, `authtoken`) are as sensitive as
// the ones the list names explicitly (`apikey`, `sessionid`).
for (const pair of SENSITIVE_PAIRS) SENSITIVE_WORDS.add(pair.replace(' ', ''));
/** Words that end in these are passwords too: `PGPASSWORD`, `dbpasswd`. */
const SENSITIVE_ENDINGS = ['password', 'passwd'];

// Acronym runs (`API` in `APIKey`), capitalised or lower words, digit runs; anything else
// separates words.
const WORD = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;
// Marker text inside a key is not a word of the key: `[REDACTED:api_key_shape]` as a key
// must not make its value sensitive on a second pass.
const MARKER_TEXT = /\[REDACTED:[a-z_]+\]/g;
const KEY_CACHE_LIMIT = 10_000;
// Security: keys are caller data; only short ones are cached so the cache stays small in
// bytes, not just in entries.
const CACHEABLE_KEY_LENGTH = 256;
const keyCache = new Map<string, boolean>();

function hasSensitiveWord(key: string): boolean {
  const words = key.replace(MARKER_TEXT, ' ').match(WORD);
  if (words === null) return false;
  let previous = '';
  for (const raw of words) {
    const word = raw.toLowerCase();
    if (SENSITIVE_WORDS.has(word) || SENSITIVE_PAIRS.has(`${previous} ${word}`)) return true;
    if (SENSITIVE_ENDINGS.some((ending) => word.endsWith(ending))) return true;
    previous = word;
  }
  return false;
}

/**
 * Whether a value stored under `key` is a secret. Keys are split into whole words (on
 * non-alphanumerics and camelCase / acronym boundaries), so `api_key`, `APIKey` and
 * `x-api-key` are sensitive while `prompt_tokens`, `tokenizer` and `secretary` are not.
 */
export function isSensitiveKey(key: string): boolean {
  const cached = keyCache.get(key);
  if (cached !== undefined) return cached;
  const sensitive = hasSensitiveWord(key);
  if (key.length <= CACHEABLE_KEY_LENGTH) {
    if (keyCache.size >= KEY_CACHE_LIMIT) {
      // Maps iterate in insertion order: this evicts the oldest entry.
      const oldest = keyCache.keys().next().value;
      if (oldest !== undefined) keyCache.delete(oldest);
    }
    keyCache.set(key, sensitive);
  }
  return sensitive;
}

// Cheap pre-test: a superset of everything the two passes below can match (case-folded),
// so the common string with nothing suspicious costs one regex test.
// Security: the assignment hint looks back from each `=`/`:` instead of scanning forward
// from each hint word; forward scanning is quadratic on input like `keykeykey…`.
const SUSPICIOUS = new RegExp(
  String.raw`bearer|sk-|A[KS]IA|gh[pousr]_|github_pat_|xox[abposr]-|eyJ|PRIVATE KEY|` +
    String.raw`:\/\/[^\s/?#@]*@|` +
    String.raw`[=:](?<=(?:pass|pwd|secret|token|auth|cookie|credential|pin|signature|key|session)[\w.-]*(?:\\?["'])?\s*[=:])`,
  'i',
);

// One alternation, scanned once; at a given position the leftmost alternative wins, so
// `Bearer eyJ...` counts as one bearer, not a bearer and a JWT. Groups, in order:
// 1 PEM block, 2 JWT, 3-4 bearer prefix/token, 5 sk- key, 6 AWS, 7 GitHub, 8 Slack,
// 9-10 URL prefix/password, 11-12 URL scheme/token user. Character classes exclude `[`,
// so markers never re-match.
// Security: where a token's own characters could also precede it (`-`, `.`), a lookbehind
// instead of `\b` lets each run start one match attempt, keeping the scan linear.
const SHAPES = new RegExp(
  [
    // A block cut short (capped tool output) is redacted to the end of the string.
    String.raw`(-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*))`,
    String.raw`((?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{8,})`,
    String.raw`(\b[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+)([A-Za-z0-9._~+/=-]{8,})`,
    // After `_` too (`key_sk-…`), which \b would not see as a boundary.
    String.raw`((?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,})`,
    String.raw`(\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)`,
    String.raw`(\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}))`,
    String.raw`(\bxox[abposr]-[A-Za-z0-9-]{10,})`,
    // The password runs to the last `@` before the path, as URL parsers split it (it may
    // hold `@`). Linear: a scan cannot cross `/`, and every match attempt starts at `://`.
    String.raw`((?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#@:]*:)((?!\[REDACTED:)[^\s/?#]+)(?=@)`,
    // A token as the whole user part (`https://<token>@github.com`): long, no password.
    String.raw`((?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\/)([A-Za-z0-9_-]{20,})(?=@)`,
  ].join('|'),
  'g',
);

const MARK = {
  bearer: redactionMarker('bearer'),
  private_key: redactionMarker('private_key'),
  jwt: redactionMarker('jwt'),
  api_key_shape: redactionMarker('api_key_shape'),
  aws_key: redactionMarker('aws_key'),
  github_token: redactionMarker('github_token'),
  slack_token: redactionMarker('slack_token'),
  url_credentials: redactionMarker('url_credentials'),
  assignment: redactionMarker('assignment'),
} as const;

type Group = string | undefined;

function redactShapes(text: string, tally: Tally): string {
  return text.replace(
    SHAPES,
    (_m: string, pem: Group, jwt: Group, bearer: Group, _token: Group, sk: Group,
      aws: Group, gh: Group, slack: Group, url: Group, _password: Group, userScheme: Group) => {
      tally.count++;
      if (pem !== undefined) return MARK.private_key;
      if (jwt !== undefined) return MARK.jwt;
      if (bearer !== undefined) return bearer + MARK.bearer;
      if (sk !== undefined) return MARK.api_key_shape;
      if (aws !== undefined) return MARK.aws_key;
      if (gh !== undefined) return MARK.github_token;
      if (slack !== undefined) return MARK.slack_token;
      return (url ?? userScheme ?? '') + MARK.url_credentials;
    },
  );
}

// `key=`, `key: `, `"key": `, `key := `, `key => `, and `\"key\": ` (JSON inside a JSON
// string, seen as text); the key must not start mid-word.
const ASSIGNMENT = /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+)(?:\\?["'])?[ \t]*(?::=|=>|==?|:)[ \t]*/g;
// `Authorization: Basic xyz` redacts `xyz`, not the scheme name.
const AUTH_SCHEME = /(?:basic|bearer|digest|token|negotiate|ntlm)[ \t]+/iy;

function isValueEnd(code: number): boolean {
  // whitespace and control characters, `"`, `&`, `'`
  return code <= 32 || code === 34 || code === 38 || code === 39;
}

/** The span of an assigned value starting at `start`, or null when there is nothing to hide. */
function valueSpan(text: string, start: number): [number, number] | null {
  let from = start;
  // `\"value\"`: quoted inside an escaped JSON string; the closing quote is escaped too.
  const escaped = text[from] === '\\' && (text[from + 1] === '"' || text[from + 1] === "'");
  if (escaped) from++;
  const quote = text[from];
  if (quote === '"' || quote === "'") {
    from++;
    const delimiter = escaped ? `\\${quote}` : quote;
    let close = text.indexOf(delimiter, from);
    // An escaped quote inside the value does not end it (`"abc\"def"`, and escaped once
    // more inside escaped JSON, `\\\"`): a delimiter after a backslash is skipped.
    // Hiding too much (a value that ends in a backslash) is safe.
    while (close > from && text[close - 1] === '\\') close = text.indexOf(delimiter, close + 1);
    const newline = text.indexOf('\n', from);
    // A quote closing on the same line delimits the value (spaces included).
    if (close !== -1 && (newline === -1 || close < newline)) {
      return close > from && !text.startsWith(MARKER_PREFIX, from) ? [from, close] : null;
    }
  } else {
    AUTH_SCHEME.lastIndex = from;
    if (AUTH_SCHEME.test(text)) from = AUTH_SCHEME.lastIndex;
  }
  let end = from;
  while (end < text.length && !isValueEnd(text.charCodeAt(end))) end++;
  const first = text[from];
  // Structured values (`"credentials": {...}`) are not a single token to hide, and a
  // value starting with `[` may be a marker from an earlier pass.
  if (end === from || first === '{' || first === '[') return null;
  return [from, end];
}

function redactAssignments(text: string, tally: Tally): string {
  let out: string | undefined;
  let copied = 0;
  ASSIGNMENT.lastIndex = 0;
  for (let m = ASSIGNMENT.exec(text); m !== null; m = ASSIGNMENT.exec(text)) {
    // Not sensitive: scanning resumes after the separator, so `a=token=x` is still seen.
    if (!isSensitiveKey(m[1] ?? '')) continue;
    const span = valueSpan(text, ASSIGNMENT.lastIndex);
    if (span === null) continue;
    out = (out ?? '') + text.slice(copied, span[0]) + MARK.assignment;
    copied = span[1];
    tally.count++;
    ASSIGNMENT.lastIndex = span[1];
  }
  return out === undefined ? text : out + text.slice(copied);
}

/**
 * Replaces secret-shaped spans (bearer tokens, provider keys, JWTs, PEM private keys, URL
 * passwords, `key=value` assignments with a sensitive key) in `text`, adding one to
 * `tally.count` per span. Returns `text` itself when nothing matched.
 */
export function redactSecretShapes(text: string, tally: Tally): string {
  if (!SUSPICIOUS.test(text)) return text;
  return redactAssignments(redactShapes(text, tally), tally);
}
