/**
 * The WebSocket protocol (version 1): what a client may send, what the server sends, and
 * the pure parsing of client messages. Every message is one JSON text frame. Messages
 * are discriminated on `op` rather than `type`, because run events already carry a
 * `type` of their own inside `event`. Documented for clients in docs/websocket.md.
 */
import { PalyraError, type JsonValue } from '../../base/index.ts';
import type { RunStreamEvent } from '../../gateway/index.ts';

/** The protocol version announced in `hello`. */
export const WS_PROTOCOL_VERSION = 1;
/** The path the endpoint is served on. */
export const WS_PATH = '/api/v1/ws';
/** The subprotocol a browser offers (with `palyra.bearer.<token>`), and the one the server selects. */
export const WS_SUBPROTOCOL = 'palyra.v1';
/** Prefix of the subprotocol that carries the admin token for browsers. */
export const WS_TOKEN_SUBPROTOCOL_PREFIX = 'palyra.bearer.';

/** Close codes the server uses (4000–4999 are the application range). */
export const WS_CLOSE = {
  /** The daemon is shutting down: reconnect later and resume. */
  goingAway: 1001,
  /** A message was over the size limit (sent by the `ws` library). */
  tooBig: 1009,
  /** No pong to the server's heartbeat ping: the connection was dead (never received by the client). */
  dead: 1006,
  /** The client did not keep up; the last frame was `slow` with its cursors. */
  slow: 4008,
} as const;

/** A client's name for a subscription or request: a string of 1–128 characters or a safe integer. */
export type ClientId = string | number;

/** A message a client sends. */
export type ClientMessage =
  | { op: 'subscribe'; id: ClientId; run: string; after: number }
  | { op: 'unsubscribe'; id: ClientId }
  | { op: 'send'; id: ClientId | null; session: string; text: unknown; idempotencyKey: unknown; mode: unknown }
  | { op: 'ping'; id: ClientId | null };

/** Where a subscription stood: resubscribe with `{"op":"subscribe","id":<key>,"run":run,"after":after}`. */
export interface Cursor {
  run: string;
  after: number;
}

/** A frame the server sends, before its per-connection `seq` is added. */
export type ServerFrame =
  | { op: 'hello'; protocol: number; limits: { maxSubscriptions: number; maxMessageBytes: number; maxBufferedBytes: number } }
  | { op: 'ok'; ref: ClientId | null; [key: string]: JsonValue }
  | { op: 'error'; ref: ClientId | null; error: { code: string; message: string } }
  | { op: 'pong'; ref: ClientId | null }
  | { op: 'event'; sub: ClientId; run: string; event: RunStreamEvent }
  | { op: 'gap'; sub: ClientId; run: string; after: number; first: number | null; message: string }
  | { op: 'slow'; cursors: Record<string, Cursor>; message: string };

/** A frame as sent: numbered per connection from 1, without gaps. */
export type NumberedFrame = ServerFrame & { seq: number };

/** The map key of a client id (`1` and `"1"` name the same subscription, as JSON object keys do). */
export function idKey(id: ClientId): string {
  return String(id);
}

/**
 * Parses one text frame into a client message.
 * Throws PALYRA_INVALID_JSON for text that is not a JSON object and PALYRA_INVALID_ARGUMENT
 * for an unknown op or a bad field; `ref` on the thrown error's details is the message's
 * `id` when it was readable, so the error reply can name the request it answers.
 */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PalyraError('PALYRA_INVALID_JSON', 'Message is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PalyraError('PALYRA_INVALID_JSON', 'Message must be a JSON object');
  const m = value as Record<string, unknown>;
  const ref = isClientId(m.id) ? m.id : null;
  const bad = (message: string): PalyraError => new PalyraError('PALYRA_INVALID_ARGUMENT', message, { details: { ref } });
  switch (m.op) {
    case 'subscribe': {
      if (ref === null) throw bad('subscribe needs an "id": a string of 1–128 characters or an integer');
      if (typeof m.run !== 'string' || m.run === '') throw bad('subscribe needs a "run" id');
      const after = m.after ?? 0;
      if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) throw bad('"after" must be a non-negative integer');
      return { op: 'subscribe', id: ref, run: m.run, after };
    }
    case 'unsubscribe':
      if (ref === null) throw bad('unsubscribe needs the "id" of the subscription');
      return { op: 'unsubscribe', id: ref };
    case 'send':
      if (m.id !== undefined && ref === null) throw bad('"id" must be a string of 1–128 characters or an integer');
      if (typeof m.session !== 'string' || m.session === '') throw bad('send needs a "session" id or key');
      return { op: 'send', id: ref, session: m.session, text: m.text, idempotencyKey: m.idempotencyKey, mode: m.mode };
    case 'ping':
      return { op: 'ping', id: ref };
    default:
      throw bad(`Unknown op ${JSON.stringify(m.op ?? null)}: expected subscribe, unsubscribe, send or ping`);
  }
}

function isClientId(value: unknown): value is ClientId {
  if (typeof value === 'string') return value.length >= 1 && value.length <= 128;
  return typeof value === 'number' && Number.isSafeInteger(value);
}
