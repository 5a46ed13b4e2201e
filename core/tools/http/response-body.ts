import { TextDecoder } from 'node:util';

/**
 * Response body handling for `http.fetch`: which content types are accepted, reading at
 * most a cap of bytes, and turning bytes into text or base64.
 */

/** Content types accepted by default: text a model can read. */
export const DEFAULT_CONTENT_TYPES: readonly string[] = ['text/*', 'application/json', 'application/xml', 'application/*+json'];

/** The essence (`type/subtype`, lowercase) and charset of a Content-Type header. */
export interface MediaType {
  essence: string;
  charset: string | null;
}

/**
 * Parses a Content-Type header. A missing or unparseable one is
 * `application/octet-stream`: palyrad does not sniff content (RFC 9110 §8.3).
 */
export function parseMediaType(header: string | undefined): MediaType {
  const [essence = '', ...params] = (header ?? '').split(';').map((s) => s.trim());
  const type = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(essence) ? essence.toLowerCase() : 'application/octet-stream';
  const charsetParam = params.find((p) => /^charset=/i.test(p));
  const charset = charsetParam ? charsetParam.slice('charset='.length).replace(/^"|"$/g, '').toLowerCase() : null;
  return { essence: type, charset };
}

/**
 * Builds a matcher for content-type patterns: exact (`application/json`), any subtype
 * (`text/*`), a structured-syntax suffix (`application/*+json`) or anything (`*\/*`).
 */
export function contentTypeMatcher(patterns: readonly string[]): (essence: string) => boolean {
  const lowered = patterns.map((p) => p.trim().toLowerCase());
  return (essence) =>
    lowered.some((pattern) => {
      if (pattern === '*/*' || pattern === essence) return true;
      const [type, subtype = ''] = pattern.split('/');
      const [eType, eSubtype = ''] = essence.split('/');
      if (type !== eType) return false;
      if (subtype === '*') return true;
      return subtype.startsWith('*+') && eSubtype.endsWith(subtype.slice(1));
    });
}

const isTextual = contentTypeMatcher([
  ...DEFAULT_CONTENT_TYPES,
  'application/*+xml',
  'application/javascript',
  'application/ecmascript',
  'application/x-www-form-urlencoded',
  'application/x-ndjson',
  'application/yaml',
]);

/** The part of undici's body stream this module uses. */
export type DestroyableBody = AsyncIterable<Uint8Array> & {
  destroy(error?: Error): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
};

/**
 * Stops reading a body and closes its connection. undici's body emits an abort error
 * when destroyed unread; nobody is waiting for that error, so it is swallowed here.
 */
export function discardBody(body: DestroyableBody): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Bytes read from a body, and whether more were left unread. */
export interface CappedBody {
  bytes: Uint8Array;
  truncated: boolean;
}

/**
 * Reads a body stream up to `maxBytes`, then stops reading and destroys the stream.
 * Security: the cap holds however long the server keeps sending; bytes past it are never
 * buffered, and Content-Length is not trusted to announce the size.
 */
export async function readCapped(
  body: DestroyableBody,
  maxBytes: number,
): Promise<CappedBody> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    for await (const chunk of body) {
      // Invariant: `total <= maxBytes` before each chunk; one byte more means truncated.
      if (total + chunk.byteLength > maxBytes) {
        chunks.push(chunk.subarray(0, maxBytes - total));
        total = maxBytes;
        truncated = true;
        break;
      }
      chunks.push(chunk);
      total += chunk.byteLength;
    }
  } finally {
    if (truncated) discardBody(body);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return { bytes, truncated };
}

/** A body as returned to the model. */
export interface DecodedBody {
  body: string;
  /** `text`: decoded with the declared charset (default UTF-8); `base64`: raw bytes. */
  bodyEncoding: 'text' | 'base64';
}

/**
 * Decodes textual types to text and everything else (and any content-encoded body, since
 * palyrad never decompresses) to base64. A truncated text body loses its trailing
 * partial character instead of ending in a replacement character.
 */
export function decodeBody(capped: CappedBody, media: MediaType, contentEncoding: string | undefined): DecodedBody {
  const coding = contentEncoding?.trim().toLowerCase() ?? '';
  const encoded = coding !== '' && coding !== 'identity';
  if (encoded || !isTextual(media.essence)) {
    return { body: Buffer.from(capped.bytes).toString('base64'), bodyEncoding: 'base64' };
  }
  return { body: decoderFor(media.charset).decode(capped.bytes, { stream: capped.truncated }), bodyEncoding: 'text' };
}

function decoderFor(charset: string | null): TextDecoder {
  try {
    return new TextDecoder(charset ?? 'utf-8');
  } catch {
    // An unknown charset label: UTF-8 is the best guess for the web (and never throws).
    return new TextDecoder('utf-8');
  }
}
