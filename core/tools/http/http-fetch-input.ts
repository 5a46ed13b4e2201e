import { PalyraError, type JsonValue } from '../../base/index.ts';
import type { HttpMethod } from './redirects.ts';

/** The input of `http.fetch`, after validation. */
export interface HttpFetchInput {
  url: URL;
  method: HttpMethod;
  headers: Record<string, string>;
  body: string | undefined;
  maxBytes: number;
  timeoutMs: number;
}

/** Operator ceilings the input is checked against. */
export interface InputLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRequestBytes: number;
}

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const MAX_URL_CHARS = 8192;

/** JSON Schema (2020-12) of the input; {@link parseHttpFetchInput} enforces the same rules. */
export function httpFetchInputSchema(limits: InputLimits): Record<string, JsonValue> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string', minLength: 1, maxLength: MAX_URL_CHARS, description: 'Absolute http or https URL.' },
      method: { enum: [...METHODS], default: 'GET' },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description: 'Request headers. Host, Cookie, hop-by-hop, proxy and forwarding headers are dropped.',
      },
      body: { type: 'string', description: 'Request body (POST, PUT, PATCH, DELETE only).' },
      maxBytes: { type: 'integer', minimum: 1, maximum: limits.maxBytes, default: limits.maxBytes },
      timeoutMs: { type: 'integer', minimum: 1, maximum: limits.timeoutMs, default: limits.timeoutMs },
    },
  };
}

/**
 * Validates raw input (the registry validated it against the schema already; this is
 * the same check again so the tool is safe on its own) and applies defaults.
 * Throws PALYRA_TOOL_INPUT_INVALID naming the field.
 */
export function parseHttpFetchInput(raw: JsonValue, limits: InputLimits): HttpFetchInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('input', 'Input must be an object');
  const known = new Set(['url', 'method', 'headers', 'body', 'maxBytes', 'timeoutMs']);
  const unknown = Object.keys(raw).find((k) => !known.has(k));
  if (unknown !== undefined) throw invalid(unknown, `Unknown field "${unknown}"`);
  const { url, method = 'GET', headers = {}, body, maxBytes = limits.maxBytes, timeoutMs = limits.timeoutMs } = raw;
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL_CHARS) {
    throw invalid('url', `Field "url" must be a string of 1 to ${MAX_URL_CHARS} characters`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('url', `Invalid URL "${url.slice(0, 200)}": expected an absolute http or https URL`);
  }
  if (typeof method !== 'string' || !METHODS.includes(method as HttpMethod)) {
    throw invalid('method', `Field "method" must be one of ${METHODS.join(', ')}`);
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || Object.values(headers).some((v) => typeof v !== 'string')) {
    throw invalid('headers', 'Field "headers" must be an object of strings');
  }
  if (body !== undefined && typeof body !== 'string') throw invalid('body', 'Field "body" must be a string');
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) throw invalid('body', `A ${method} request cannot carry a body`);
  if (body !== undefined && Buffer.byteLength(body) > limits.maxRequestBytes) {
    throw invalid('body', `Field "body" is larger than ${limits.maxRequestBytes} bytes`);
  }
  return {
    url: parsed,
    method: method as HttpMethod,
    headers: headers as Record<string, string>,
    body,
    maxBytes: boundedInteger('maxBytes', maxBytes, limits.maxBytes),
    timeoutMs: boundedInteger('timeoutMs', timeoutMs, limits.timeoutMs),
  };
}

function boundedInteger(field: string, value: JsonValue, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(field, `Field "${field}" must be an integer from 1 to ${max}`);
  }
  return value;
}

function invalid(field: string, message: string): PalyraError {
  return new PalyraError('PALYRA_TOOL_INPUT_INVALID', message, { details: { field } });
}
