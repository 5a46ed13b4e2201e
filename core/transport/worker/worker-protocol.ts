/**
 * The remote worker protocol (version 1): the frames a worker and the daemon's hub
 * exchange over one WebSocket, each one binary message holding one msgpack map
 * discriminated on `type`. Encoding is here; strict parsing is in worker-frame-parse.ts.
 * Documented for implementers in docs/workers.md.
 */
import { Buffer } from 'node:buffer';
import { encode } from '@msgpack/msgpack';
import type { JsonValue } from '../../base/index.ts';
import type { ToolInfo } from '../../tools/index.ts';

/** The protocol version a worker announces in `hello`; the hub refuses others. */
export const WORKER_PROTOCOL_VERSION = 1;
/** The path the hub is served on. */
export const WORKER_PATH = '/api/v1/workers';
/** Prefix of the names a worker's tools get in the daemon: `worker.<worker>.<tool>`. */
export const WORKER_TOOL_PREFIX = 'worker.';

/** Limits both sides enforce on every frame. */
export const WORKER_LIMITS = {
  /** One frame, as the WebSocket `maxPayload` (larger messages close with 1009). */
  maxFrameBytes: 4 * 1024 * 1024,
  /**
   * The daemon's frames a worker may leave unread (WebSocket `bufferedAmount`) before it is
   * dropped (4007): its calls pile up in the daemon's memory otherwise, up to 4 MiB each.
   */
  maxUnsentBytes: 16 * 1024 * 1024,
  /** Tools one worker may register. */
  maxTools: 128,
  /** A tool's own name (before namespacing). */
  maxToolNameLength: 48,
  maxDescriptionLength: 4096,
  /** A tool's input schema, as msgpack-decoded JSON measured in canonical JSON bytes. */
  maxSchemaBytes: 64 * 1024,
  /**
   * JSON values (objects, arrays, strings, numbers, …) in one tool's input schema. The
   * daemon compiles schemas with Ajv on its event loop, one tool per turn, at a cost that
   * grows with their size and faster than linearly in one large schema: the worst schema
   * of this size compiles in ~20 ms on an idle 2-core machine (~50 ms loaded). The largest
   * built-in schema (http.fetch) has 38.
   */
  maxSchemaNodes: 500,
  /** JSON values in all the input schemas of one `hello` together (128 tools of ~30). */
  maxHelloSchemaNodes: 4_000,
  maxCallIdLength: 64,
  maxErrorMessageLength: 4096,
  /** Nesting depth of any JSON value in a frame (inputs, outputs, schemas). */
  maxJsonDepth: 64,
  /** Longest call a worker may declare: 10 minutes. */
  maxTimeoutMs: 600_000,
  /** Largest output a worker may declare; below the frame cap so a full result still fits. */
  maxOutputBytes: 3 * 1024 * 1024,
  maxInputBytes: 1024 * 1024,
} as const;

/** Close codes (4000–4999 are the application range); the reason says more. */
export const WORKER_CLOSE = {
  /** A clean stop by either side (worker SIGTERM, hub closing a replaced connection's peer). */
  normal: 1000,
  /** The daemon is stopping: reconnect later. */
  goingAway: 1001,
  /** A frame over `maxFrameBytes` (sent by the `ws` library). */
  tooBig: 1009,
  /** A frame that is not valid msgpack or not a valid frame. */
  badFrame: 4001,
  /** `hello` announced a protocol version the hub does not speak. Permanent. */
  unsupportedVersion: 4002,
  /** `hello` was refused (bad tools, name mismatch). Permanent: retrying sends the same hello. */
  refused: 4003,
  /** The worker missed two heartbeats. */
  heartbeatTimeout: 4004,
  /** A newer connection with the same worker token took over. */
  replaced: 4005,
  /** No `hello` arrived in time after the upgrade. */
  helloTimeout: 4006,
  /** The worker left more than `maxUnsentBytes` of the daemon's frames unread. */
  notReading: 4007,
} as const;

/** Close codes after which reconnecting cannot help. */
export const PERMANENT_CLOSE_CODES: ReadonlySet<number> = new Set([WORKER_CLOSE.unsupportedVersion, WORKER_CLOSE.refused]);

/** Limits a worker declares for one tool; the daemon enforces them too. */
export interface WorkerToolLimits {
  timeoutMs: number;
  maxOutputBytes: number;
  maxInputBytes?: number;
}

/**
 * A tool as a worker registers it: what the registry shows of any tool (`ToolInfo`), under
 * the worker's own (un-namespaced) name, with the input cap optional. `capabilities`: what
 * the tool can do on the worker's machine; the daemon adds "remote" in any case.
 */
export type WorkerToolSpec = Omit<ToolInfo, 'limits'> & { limits: WorkerToolLimits };

/** An error a worker reports for a call. */
export interface WorkerCallError {
  code: string;
  message: string;
}

/** A frame a worker sends. `hello` must be the first and comes once. */
export type WorkerFrame =
  | { type: 'hello'; protocol: number; worker: string | null; tools: WorkerToolSpec[] }
  | { type: 'result'; callId: string; ok: true; output: JsonValue }
  | { type: 'result'; callId: string; ok: false; error: WorkerCallError }
  | { type: 'pong'; nonce: number };

/** A frame the hub sends. */
export type HubFrame =
  | { type: 'registered'; worker: string; tools: string[]; heartbeatMs: number }
  | { type: 'refused'; code: string; message: string }
  | { type: 'invoke'; callId: string; tool: string; input: JsonValue; timeoutMs: number }
  | { type: 'cancel'; callId: string }
  | { type: 'ping'; nonce: number };

/** Encodes a frame as one msgpack message. */
export function encodeFrame(frame: WorkerFrame | HubFrame): Uint8Array {
  return encode(frame, { ignoreUndefined: true });
}

/** The name a worker's tool gets in the daemon's registry. */
export function namespacedToolName(worker: string, tool: string): string {
  return `${WORKER_TOOL_PREFIX}${worker}.${tool}`;
}

/** A close reason fits in 123 bytes (RFC 6455); longer text is cut at a character boundary. */
export function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
