import { PalyraError } from '../../base/index.ts';

/**
 * Request headers the model may not set; they are dropped (and reported), not an error.
 * Security, by group:
 * - hop-by-hop and framing: they belong to one connection, and a model-chosen
 *   `Transfer-Encoding`, `Content-Length` or `Connection` is how requests get smuggled;
 * - `Host`: comes from the URL only, so a checked URL cannot be sent to another virtual
 *   host behind the same address; `Accept-Encoding` is ours (identity, see below);
 * - `Cookie`: palyrad keeps no cookie jar, so a cookie here could only be one the model
 *   read somewhere, the classic session-riding vector; `Authorization` and other
 *   credential headers stay (agents call APIs with tokens they were given), but on a
 *   cross-origin redirect only {@link CROSS_ORIGIN_HEADERS} go on;
 * - client-identity headers (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`, …): internal
 *   services trust them to decide who is calling;
 * - method overrides: the method is policy input and must be the one that runs;
 * - metadata-service headers (`Metadata-Flavor`, the IMDSv2 token): defence in depth
 *   should a metadata address ever be reachable.
 */
export const STRIPPED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings',
  'proxy-authorization', 'proxy-authenticate', 'host', 'content-length', 'expect', 'accept-encoding',
  'cookie', 'cookie2',
  'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip',
  'x-client-ip', 'true-client-ip', 'cf-connecting-ip', 'x-original-url', 'x-rewrite-url',
  'x-http-method-override', 'x-http-method', 'x-method-override',
  'metadata-flavor', 'x-google-metadata-request', 'x-aws-ec2-metadata-token', 'x-aws-ec2-metadata-token-ttl-seconds',
]);

/** Response headers returned to the model; everything else (`Set-Cookie` first) is dropped. */
export const RETURNED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  'content-type', 'content-length', 'content-language', 'content-encoding', 'content-disposition', 'content-range',
  'accept-ranges', 'cache-control', 'etag', 'last-modified', 'expires', 'date', 'age', 'vary', 'location',
  'retry-after', 'link', 'allow', 'www-authenticate',
  'ratelimit', 'ratelimit-policy', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset',
]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9110 §5.5 field-value characters: HTAB, SP, VCHAR and obs-text (0x80-0xFF, sent as
// one Latin-1 byte each); undici refuses anything else, but only after DNS and the guard.
const NOT_FIELD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
const MAX_HEADERS = 64;
const MAX_VALUE_CHARS = 8192;
const MAX_RETURNED_VALUE_CHARS = 2048;

/** The request headers that will be sent, and the names that were dropped. */
export interface SanitizedHeaders {
  headers: Record<string, string>;
  stripped: string[];
}

/**
 * Validates and filters the model's request headers: names lowercased, invalid names or
 * values (CR, LF, NUL: header injection; any other control character or one above
 * U+00FF) refused with PALYRA_TOOL_INPUT_INVALID before anything is resolved or sent,
 * {@link STRIPPED_REQUEST_HEADERS} dropped.
 */
export function sanitizeRequestHeaders(input: Record<string, string> | undefined): SanitizedHeaders {
  const entries = Object.entries(input ?? {});
  if (entries.length > MAX_HEADERS) throw invalid(`Too many headers: at most ${MAX_HEADERS}`, 'headers');
  const headers: Record<string, string> = {};
  const stripped: string[] = [];
  for (const [rawName, value] of entries) {
    if (!TOKEN.test(rawName)) throw invalid(`Invalid header name "${rawName}"`, 'headers');
    checkValue(rawName, value);
    const name = rawName.toLowerCase();
    if (STRIPPED_REQUEST_HEADERS.has(name) || name.startsWith('proxy-')) stripped.push(name);
    else headers[name] = value;
  }
  return { headers, stripped: [...new Set(stripped)].sort() };
}

function checkValue(name: string, value: unknown): void {
  const rule = `a string of at most ${MAX_VALUE_CHARS} characters, each a tab, a space, visible ASCII or U+0080-U+00FF`;
  if (typeof value !== 'string' || value.length > MAX_VALUE_CHARS) throw invalid(`Invalid value for header "${name}": ${rule}`, 'headers');
  const bad = NOT_FIELD_VALUE_CHAR.exec(value);
  if (bad !== null) {
    const code = `U+${(value.codePointAt(bad.index) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw invalid(`Invalid value for header "${name}": ${code} at index ${bad.index} is not allowed; ${rule}`, 'headers');
  }
}

/**
 * Request headers that go on to another origin after a redirect: content negotiation, the
 * body's description and our own `User-Agent` and `Accept-Encoding`. None carries a
 * credential.
 */
export const CROSS_ORIGIN_HEADERS: ReadonlySet<string> = new Set([
  'accept', 'accept-language', 'accept-encoding', 'user-agent', 'content-type', 'content-language', 'cache-control', 'pragma',
]);

/**
 * The headers to send when a redirect changes origin (scheme, host or port): only
 * {@link CROSS_ORIGIN_HEADERS}. Security: credentials come under any name (`Authorization`,
 * `X-Api-Key`, `Api-Key`, `Private-Token`, `X-Auth-Token`, …) and were meant for the origin
 * the model chose, not one the server named; a deny list would always miss one.
 */
export function headersForNewOrigin(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => CROSS_ORIGIN_HEADERS.has(name)));
}

/** Headers describing a request body; dropped when a redirect turns the request into a GET. */
export function dropBodyHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('content-')));
}

/** The returned subset of response headers: lowercase names, repeated values joined. */
export function selectResponseHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(raw)) {
    const name = rawName.toLowerCase();
    if (value === undefined || !RETURNED_RESPONSE_HEADERS.has(name)) continue;
    const joined = Array.isArray(value) ? value.join(', ') : value;
    out[name] = joined.length > MAX_RETURNED_VALUE_CHARS ? joined.slice(0, MAX_RETURNED_VALUE_CHARS) : joined;
  }
  return out;
}

function invalid(message: string, field: string): PalyraError {
  return new PalyraError('PALYRA_TOOL_INPUT_INVALID', message, { details: { field } });
}
