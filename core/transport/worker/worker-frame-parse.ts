/**
 * Strict parsing of worker protocol frames. Both ends treat the other as untrusted: every
 * frame must be one msgpack map of a known `type` with exactly its fields, each of the
 * right type and within WORKER_LIMITS, and every embedded value must be plain JSON
 * (no binary, no extension types, bounded depth). Anything else throws, and the caller
 * closes the connection with WORKER_CLOSE.badFrame.
 */
import { Buffer } from 'node:buffer';
import { decode } from '@msgpack/msgpack';
import { canonicalJson, PalyraError, type JsonValue } from '../../base/index.ts';
import type { Capability, RiskLevel } from '../../tools/index.ts';
import { WORKER_LIMITS as L, type HubFrame, type WorkerFrame, type WorkerToolSpec } from './worker-protocol.ts';

/** A tool's own name: lowercase dotted words, as the registry requires. */
export const WORKER_TOOL_NAME = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const WORKER_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const CAPABILITIES: readonly Capability[] = ['fs_read', 'fs_write', 'process', 'network', 'secrets', 'plugin', 'remote', 'memory'];
const RISKS: readonly RiskLevel[] = ['low', 'medium', 'high'];

type Fields = Record<string, unknown>;

/** Parses a frame a worker sent (the hub's side). @throws PalyraError PALYRA_INVALID_ARGUMENT */
export function parseWorkerFrame(data: Uint8Array): WorkerFrame {
  const f = decodeMap(data);
  switch (f.type) {
    case 'hello': {
      exactly(f, ['type', 'protocol', 'worker', 'tools']);
      const tools = f.tools;
      if (!Array.isArray(tools)) bad('tools must be an array');
      if (tools.length > L.maxTools) bad(`tools lists ${tools.length} tools; at most ${L.maxTools} are allowed`);
      const worker = f.worker === null ? null : text(f, 'worker', 64, WORKER_NAME);
      return { type: 'hello', protocol: int(f, 'protocol', 1, 1_000_000), worker, tools: tools.map(toolSpec) };
    }
    case 'result': {
      if (f.ok === true) {
        exactly(f, ['type', 'callId', 'ok', 'output']);
        return { type: 'result', callId: callId(f), ok: true, output: json(f, 'output') };
      }
      exactly(f, ['type', 'callId', 'ok', 'error']);
      if (f.ok !== false) bad('ok must be a boolean');
      const error = map(f.error, 'error');
      exactly(error, ['code', 'message'], 'error.');
      return { type: 'result', callId: callId(f), ok: false, error: { code: text(error, 'code', 64, /^[A-Z][A-Z0-9_]*$/), message: text(error, 'message', L.maxErrorMessageLength) } };
    }
    case 'pong':
      exactly(f, ['type', 'nonce']);
      return { type: 'pong', nonce: int(f, 'nonce', 0, Number.MAX_SAFE_INTEGER) };
    default:
      return bad(`unknown type ${describe(f.type)}`);
  }
}

/** Parses a frame the hub sent (the worker's side). @throws PalyraError PALYRA_INVALID_ARGUMENT */
export function parseHubFrame(data: Uint8Array): HubFrame {
  const f = decodeMap(data);
  switch (f.type) {
    case 'registered': {
      exactly(f, ['type', 'worker', 'tools', 'heartbeatMs']);
      if (!Array.isArray(f.tools) || f.tools.length > L.maxTools || !f.tools.every((t) => typeof t === 'string' && t.length <= 128)) bad('tools must be a list of names');
      return { type: 'registered', worker: text(f, 'worker', 64, WORKER_NAME), tools: f.tools as string[], heartbeatMs: int(f, 'heartbeatMs', 0, 3_600_000) };
    }
    case 'refused':
      exactly(f, ['type', 'code', 'message']);
      return { type: 'refused', code: text(f, 'code', 64), message: text(f, 'message', L.maxErrorMessageLength) };
    case 'invoke':
      exactly(f, ['type', 'callId', 'tool', 'input', 'timeoutMs']);
      return { type: 'invoke', callId: callId(f), tool: text(f, 'tool', L.maxToolNameLength, WORKER_TOOL_NAME), input: json(f, 'input'), timeoutMs: int(f, 'timeoutMs', 1, L.maxTimeoutMs) };
    case 'cancel':
      exactly(f, ['type', 'callId']);
      return { type: 'cancel', callId: callId(f) };
    case 'ping':
      exactly(f, ['type', 'nonce']);
      return { type: 'ping', nonce: int(f, 'nonce', 0, Number.MAX_SAFE_INTEGER) };
    default:
      return bad(`unknown type ${describe(f.type)}`);
  }
}

function toolSpec(value: unknown, index: number): WorkerToolSpec {
  const at = `tools[${index}].`;
  const t = map(value, `tools[${index}]`);
  exactly(t, ['name', 'description', 'inputSchema', 'capabilities', 'risk', 'parallelSafe', 'limits'], at);
  const inputSchema = map(json(t, 'inputSchema', at), `${at}inputSchema`) as Record<string, JsonValue>;
  const schemaBytes = Buffer.byteLength(canonicalJson(inputSchema));
  if (schemaBytes > L.maxSchemaBytes) bad(`${at}inputSchema is ${schemaBytes} bytes; at most ${L.maxSchemaBytes} are allowed`);
  const caps = t.capabilities;
  if (!Array.isArray(caps) || !caps.every((c): c is Capability => CAPABILITIES.includes(c as Capability))) bad(`${at}capabilities must be a list of: ${CAPABILITIES.join(', ')}`);
  if (!RISKS.includes(t.risk as RiskLevel)) bad(`${at}risk must be one of: ${RISKS.join(', ')}`);
  if (typeof t.parallelSafe !== 'boolean') bad(`${at}parallelSafe must be a boolean`);
  const l = map(t.limits, `${at}limits`);
  const known = ['timeoutMs', 'maxOutputBytes', 'maxInputBytes'];
  exactly(l, l.maxInputBytes === undefined ? known.slice(0, 2) : known, `${at}limits.`);
  const limits = { timeoutMs: int(l, 'timeoutMs', 1, L.maxTimeoutMs, `${at}limits.`), maxOutputBytes: int(l, 'maxOutputBytes', 1, L.maxOutputBytes, `${at}limits.`) };
  return {
    name: text(t, 'name', L.maxToolNameLength, WORKER_TOOL_NAME, at),
    description: text(t, 'description', L.maxDescriptionLength, undefined, at),
    inputSchema,
    capabilities: [...new Set(caps)],
    risk: t.risk as RiskLevel,
    parallelSafe: t.parallelSafe,
    limits: l.maxInputBytes === undefined ? limits : { ...limits, maxInputBytes: int(l, 'maxInputBytes', 1, L.maxInputBytes, `${at}limits.`) },
  };
}

function decodeMap(data: Uint8Array): Fields {
  if (data.byteLength > L.maxFrameBytes) bad(`frame is ${data.byteLength} bytes; at most ${L.maxFrameBytes} are allowed`);
  let value: unknown;
  try {
    value = decode(data);
  } catch (error) {
    bad(`not msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  const f = map(value, 'frame');
  if (typeof f.type !== 'string') bad('type must be a string');
  return f;
}

function map(value: unknown, what: string): Fields {
  if (!isPlainObject(value)) bad(`${what} must be a map`);
  return value;
}

function exactly(f: Fields, keys: readonly string[], at = ''): void {
  for (const key of Object.keys(f)) if (!keys.includes(key)) bad(`${at}${key} is not a known field`);
  for (const key of keys) if (!(key in f)) bad(`${at}${key} is required`);
}

function text(f: Fields, key: string, max: number, pattern?: RegExp, at = ''): string {
  const v = f[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) bad(`${at}${key} must be a string of 1 to ${max} characters`);
  if (pattern && !pattern.test(v)) bad(`${at}${key} ${describe(v)} does not match ${String(pattern)}`);
  return v;
}

function int(f: Fields, key: string, min: number, max: number, at = ''): number {
  const v = f[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(`${at}${key} must be an integer from ${min} to ${max}`);
  return v;
}

function callId(f: Fields): string {
  return text(f, 'callId', L.maxCallIdLength, /^[A-Za-z0-9_.-]+$/);
}

function json(f: Fields, key: string, at = ''): JsonValue {
  if (!isFrameJson(f[key])) bad(`${at}${key} must be plain JSON nested at most ${L.maxJsonDepth} deep`);
  return f[key] as JsonValue;
}

/**
 * Whether `value` may be carried inside a frame: plain JSON nested at most
 * WORKER_LIMITS.maxJsonDepth deep. The sender checks with this too, so what it sends the
 * other side accepts.
 */
export function isFrameJson(value: unknown): boolean {
  return isJson(value, 0);
}

/** Plain JSON only: msgpack's binary (Uint8Array), timestamps (Date) and extensions are refused. */
function isJson(value: unknown, depth: number): boolean {
  if (depth > L.maxJsonDepth) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJson(v, depth + 1));
  return isPlainObject(value) && Object.values(value).every((v) => isJson(v, depth + 1));
}

function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
}

function bad(detail: string): never {
  throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid worker frame: ${detail}`);
}
