/**
 * The `http.fetch` tool: one HTTP request (plus up to five redirects) through undici,
 * behind the SSRF guard. See README.md in this folder for what is refused and why.
 */
import type { Dispatcher } from 'undici';
import { hostForm, PalyraError } from '../../base/index.ts';
import { jsonBudget } from '../builtin/capped-text.ts';
import type { ToolDefinition } from '../tool.ts';
import { startDeadline, type Deadline } from './fetch-deadline.ts';
import { httpFetchInputSchema, parseHttpFetchInput, type InputLimits } from './http-fetch-input.ts';
import { sanitizeRequestHeaders, selectResponseHeaders } from './http-headers.ts';
import { createPinnedAgent } from './pinned-agent.ts';
import { MAX_REDIRECTS, nextHop, type HopRequest } from './redirects.ts';
import { contentTypeMatcher, decodeBody, DEFAULT_CONTENT_TYPES, discardBody, parseMediaType, readCapped } from './response-body.ts';
import { createTargetGuard, type HostResolver, type TargetGuard } from './target-guard.ts';

/** Options of {@link createHttpFetchTool}; all optional, defaults as documented. */
export interface HttpFetchOptions {
  /** Exemptions from the SSRF guard: addresses, CIDRs, host names, `*.suffix` (default none). */
  allow?: readonly string[];
  /** Host resolver (default: system `dns.lookup`, all addresses). Tests inject a fake. */
  lookup?: HostResolver;
  /** Default and ceiling of response body bytes read (default 1 MiB). */
  maxBytes?: number;
  /** Default and ceiling of one call's total time, DNS to last body byte (default 10 s). */
  timeoutMs?: number;
  /** Cap on request body bytes (default 1 MiB). */
  maxRequestBytes?: number;
  /** Redirects followed before refusing (default and maximum 5). */
  maxRedirects?: number;
  /** Accepted response content types (default {@link DEFAULT_CONTENT_TYPES}). */
  contentTypes?: readonly string[];
  /** User-Agent sent when the model sets none (default `palyrad-http-fetch`). */
  userAgent?: string;
  /** Extra trusted CA certificates, PEM (private PKI); system roots stay trusted. */
  ca?: string | readonly string[];
}

/** Output of `http.fetch`. */
export type HttpFetchOutput = {
  status: number;
  /** Lowercased names, only the safe subset (see RETURNED_RESPONSE_HEADERS). */
  headers: Record<string, string>;
  body: string;
  bodyEncoding: 'text' | 'base64';
  /** Bytes of body read (before base64). */
  bytes: number;
  truncated: boolean;
  finalUrl: string;
  redirects: number;
  /**
   * Set when the answer is a redirect to another host, which is not followed: the policy
   * decided this call for its own host only. Fetching the target is a new call, decided
   * again.
   */
  redirectNotFollowed?: string;
  /** Request header names the tool dropped. */
  strippedHeaders: string[];
};

const MiB = 1024 * 1024;

/** Creates the `http.fetch` tool. */
export function createHttpFetchTool(options: HttpFetchOptions = {}): ToolDefinition {
  const limits: InputLimits = {
    maxBytes: options.maxBytes ?? MiB,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxRequestBytes: options.maxRequestBytes ?? MiB,
  };
  const maxRedirects = Math.min(options.maxRedirects ?? MAX_REDIRECTS, MAX_REDIRECTS);
  const contentTypes = options.contentTypes ?? DEFAULT_CONTENT_TYPES;
  const ctx: FetchContext = {
    guard: createTargetGuard({ allow: options.allow ?? [], ...(options.lookup ? { lookup: options.lookup } : {}) }),
    acceptsType: contentTypeMatcher(contentTypes),
    contentTypes,
    maxRedirects,
    userAgent: options.userAgent ?? 'palyrad-http-fetch',
    ca: options.ca,
  };
  return {
    name: 'http.fetch',
    description:
      'Fetch an http(s) URL and return status, selected headers and the body (text, or base64 for binary). ' +
      `Private, loopback, link-local and metadata addresses are refused; up to ${maxRedirects} redirects are followed; ` +
      `accepted content types: ${contentTypes.join(', ')}.`,
    inputSchema: httpFetchInputSchema(limits),
    capabilities: ['network'],
    risk: 'medium',
    parallelSafe: true,
    limits: {
      // One second of grace, so this tool's own deadline fires first with a precise error.
      timeoutMs: limits.timeoutMs + 1000,
      // A text body is a JSON string, where escaping grows a byte up to sixfold (`\u0001`);
      // base64 grows binary ones by 4/3 only. Headers and fields fit in the extra 64 KiB.
      maxOutputBytes: jsonBudget(limits.maxBytes),
      // Room for a request body of maxRequestBytes plus URL and headers, as JSON.
      maxInputBytes: limits.maxRequestBytes + 128 * 1024,
    },
    async run(raw, context) {
      const input = parseHttpFetchInput(raw, limits);
      const { headers, stripped } = sanitizeRequestHeaders(input.headers);
      headers['user-agent'] ??= ctx.userAgent;
      if (input.body !== undefined) headers['content-type'] ??= 'text/plain;charset=utf-8';
      // Security: identity only, so palyrad never inflates a body (no decompression bombs).
      headers['accept-encoding'] = 'identity';
      const first: HopRequest = { url: input.url, method: input.method, headers, body: input.body };
      const deadline = startDeadline(input.timeoutMs, context.signal);
      try {
        const output = await fetchFollowing(first, ctx, deadline, input.maxBytes);
        return { ...output, strippedHeaders: stripped } satisfies HttpFetchOutput;
      } finally {
        deadline.dispose();
      }
    },
  };
}

interface FetchContext {
  guard: TargetGuard;
  acceptsType: (essence: string) => boolean;
  contentTypes: readonly string[];
  maxRedirects: number;
  userAgent: string;
  ca: string | readonly string[] | undefined;
}

type HopOutput = Omit<HttpFetchOutput, 'strippedHeaders'>;

/**
 * Sends `first`, following redirects on the same host, each hop checked by the guard
 * before it connects. Security: policies decide a call by its URL and host
 * (`context.args.host`), so a redirect to another host is returned, not followed: a
 * permit for one site must not carry a call through its open redirect to any other.
 */
async function fetchFollowing(first: HopRequest, ctx: FetchContext, deadline: Deadline, maxBytes: number): Promise<HopOutput> {
  let hop = first;
  for (let redirects = 0; ; redirects++) {
    const result = await sendHop(hop, ctx, deadline, maxBytes, redirects);
    if (result.type === 'final') return { ...result.output, finalUrl: hop.url.href, redirects };
    if (hostForm(result.next.url) !== hostForm(first.url)) {
      return { ...result.response, body: '', bodyEncoding: 'text', bytes: 0, truncated: false, finalUrl: hop.url.href, redirects, redirectNotFollowed: result.next.url.href };
    }
    // Security: the limit holds per call, whatever mix of hosts the chain goes through.
    if (redirects >= ctx.maxRedirects) {
      throw new PalyraError('PALYRA_TOOL_FORBIDDEN', `Too many redirects: more than ${ctx.maxRedirects}, last to "${result.next.url.href}"`, {
        details: { redirects: redirects + 1 },
      });
    }
    hop = result.next;
  }
}

type FinalOutput = Omit<HopOutput, 'finalUrl' | 'redirects'>;
type HopResult = { type: 'final'; output: FinalOutput } | { type: 'redirect'; next: HopRequest; response: { status: number; headers: Record<string, string> } };


async function sendHop(hop: HopRequest, ctx: FetchContext, deadline: Deadline, maxBytes: number, index: number): Promise<HopResult> {
  const origin = hop.url.origin;
  let agent: Dispatcher | undefined;
  try {
    // Security: every hop, the first and each redirect, passes the same guard.
    const target = await deadline.race(ctx.guard.check(hop.url)).catch((error: unknown) => {
      throw index > 0 && error instanceof PalyraError && error.code === 'PALYRA_TOOL_FORBIDDEN' ? redirectRefused(hop.url, error) : error;
    });
    const budget = deadline.remainingMs();
    agent = createPinnedAgent(target, {
      guard: ctx.guard,
      connectTimeoutMs: budget,
      headersTimeoutMs: budget,
      bodyTimeoutMs: budget,
      ...(ctx.ca === undefined ? {} : { ca: ctx.ca }),
    });
    const response = await agent.request({
      origin,
      path: `${hop.url.pathname}${hop.url.search}`,
      method: hop.method,
      headers: hop.headers,
      body: hop.body ?? null,
      signal: deadline.signal,
    });
    const location = response.headers['location'];
    const next = nextHop(hop, response.statusCode, Array.isArray(location) ? location[0] : location);
    if (next) {
      discardBody(response.body);
      return { type: 'redirect', next, response: { status: response.statusCode, headers: selectResponseHeaders(response.headers) } };
    }
    return { type: 'final', output: await readFinal(hop, response, ctx, maxBytes) };
  } catch (error) {
    throw deadline.translate(error, origin);
  } finally {
    // Fire and forget: destroying only closes this hop's one socket.
    agent?.destroy().catch(() => undefined);
  }
}

async function readFinal(hop: HopRequest, response: Dispatcher.ResponseData, ctx: FetchContext, maxBytes: number): Promise<FinalOutput> {
  const status = response.statusCode;
  const headers = selectResponseHeaders(response.headers);
  const media = parseMediaType(headers['content-type']);
  const bodyless = hop.method === 'HEAD' || status === 204 || status === 205 || status === 304 || headers['content-length'] === '0';
  // Security: the type is checked before a single body byte is read.
  if (!bodyless && !ctx.acceptsType(media.essence)) {
    discardBody(response.body);
    throw new PalyraError(
      'PALYRA_TOOL_FORBIDDEN',
      `Content type "${media.essence}" of HTTP ${status} from "${hop.url.origin}" is not allowed: accepted are ${ctx.contentTypes.join(', ')}`,
      { details: { status, contentType: media.essence, url: hop.url.href } },
    );
  }
  if (bodyless) discardBody(response.body);
  const capped = bodyless ? { bytes: new Uint8Array(0), truncated: false } : await readCapped(response.body, maxBytes);
  const decoded = decodeBody(capped, media, headers['content-encoding']);
  return { status, headers, ...decoded, bytes: capped.bytes.byteLength, truncated: capped.truncated };
}

function redirectRefused(url: URL, error: PalyraError): PalyraError {
  return new PalyraError(error.code, `Redirect to "${url.href}" refused: ${error.message}`, { cause: error, details: error.details ?? {} });
}

