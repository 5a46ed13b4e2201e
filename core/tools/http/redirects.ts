import { PalyraError } from '../../base/index.ts';
import { dropBodyHeaders, headersForNewOrigin } from './http-headers.ts';

/** HTTP methods `http.fetch` sends. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One hop's request, before it is checked and sent. */
export interface HopRequest {
  url: URL;
  method: HttpMethod;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Statuses followed as redirects; 300, 304 and 305 (use proxy) are returned as they are. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Default and ceiling of redirects followed for one call. */
export const MAX_REDIRECTS = 5;

/**
 * The request to send after a redirect response, or null when the response is final
 * (not a redirect status, or no Location). Method and body follow RFC 9110 §15.4 as
 * browsers apply it: 303 turns anything but HEAD into GET; 301 and 302 turn POST into
 * GET; 307 and 308 keep method and body. A body-less request drops its Content-* headers;
 * a request to another origin keeps only the headers that carry no credential.
 *
 * The new URL is not checked here: the caller runs it through the target guard like the
 * first one (scheme, user info, addresses), since a redirect is just another URL the
 * server chose.
 */
export function nextHop(current: HopRequest, status: number, location: string | undefined): HopRequest | null {
  if (!REDIRECT_STATUSES.has(status) || location === undefined) return null;
  let url: URL;
  try {
    url = new URL(location, current.url);
  } catch (cause) {
    throw new PalyraError('PALYRA_TOOL_FAILED', `Invalid redirect location "${location.slice(0, 200)}" from ${current.url.origin}`, { cause });
  }
  const toGet = (status === 303 && current.method !== 'HEAD') || ((status === 301 || status === 302) && current.method === 'POST');
  let headers = toGet ? dropBodyHeaders(current.headers) : current.headers;
  // Security: credentials meant for one origin are not handed to another one.
  if (url.origin !== current.url.origin) headers = headersForNewOrigin(headers);
  return { url, method: toGet ? 'GET' : current.method, headers, body: toGet ? undefined : current.body };
}
