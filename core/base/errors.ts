import { randomUUID } from 'node:crypto';

/**
 * The one registry of error conditions callers may match on.
 *
 * Every error carries a stable `code` string. CLI exit codes, HTTP statuses and JSON
 * error bodies are derived from the code, never from the message text.
 */

/** How a failure should be reported to a person or a script. */
export type ErrorCategory =
  /** The user asked for something malformed: bad flag, bad JSON, oversized input. */
  | 'usage'
  /** Reading or writing files, locks, sockets failed. */
  | 'io'
  /** The thing being checked is not as it should be (integrity, verification). */
  | 'integrity'
  /** A programming error or an invariant broken inside palyrad. */
  | 'internal';

const CODES = {
  PALYRA_USAGE: 'usage',
  PALYRA_INVALID_JSON: 'usage',
  PALYRA_INVALID_ARGUMENT: 'usage',
  PALYRA_PAYLOAD_TOO_LARGE: 'usage',
  PALYRA_NOT_FOUND: 'usage',
  PALYRA_UNAUTHORIZED: 'usage',
  PALYRA_FORBIDDEN: 'usage',
  PALYRA_CONFLICT: 'usage',
  PALYRA_METHOD_NOT_ALLOWED: 'usage',
  PALYRA_RATE_LIMITED: 'usage',
  PALYRA_REQUEST_TIMEOUT: 'usage',
  PALYRA_UNAVAILABLE: 'io',
  PALYRA_STATE_DIR_INVALID: 'io',
  PALYRA_STATE_LOCKED: 'io',
  PALYRA_IO: 'io',
  PALYRA_JOURNAL_CLOSED: 'io',
  PALYRA_JOURNAL_WRITE_FAILED: 'io',
  PALYRA_JOURNAL_CORRUPT: 'integrity',
  PALYRA_JOURNAL_CHAIN_BROKEN: 'integrity',
  PALYRA_JOURNAL_UNSUPPORTED_FORMAT: 'integrity',
  PALYRA_KEY_INVALID: 'io',
  PALYRA_POLICY_INVALID: 'integrity',
  PALYRA_POLICY_EXAMPLE_FAILED: 'integrity',
  PALYRA_APPROVAL_NOT_FOUND: 'usage',
  PALYRA_APPROVAL_EXPIRED: 'usage',
  PALYRA_TOOL_NOT_FOUND: 'usage',
  PALYRA_TOOL_INPUT_INVALID: 'usage',
  PALYRA_TOOL_FORBIDDEN: 'usage',
  PALYRA_TOOL_TIMEOUT: 'io',
  PALYRA_TOOL_CANCELLED: 'io',
  PALYRA_TOOL_FAILED: 'io',
  PALYRA_TOOL_LIMIT_EXCEEDED: 'io',
  /** A remote worker disconnected (or was replaced) while it held the call. */
  PALYRA_TOOL_WORKER_GONE: 'io',
  PALYRA_RUN_ILLEGAL_TRANSITION: 'internal',
  PALYRA_TAPE_INVALID: 'integrity',
  PALYRA_TAPE_UNSUPPORTED_VERSION: 'integrity',
  PALYRA_INTERNAL: 'internal',
} as const satisfies Record<string, ErrorCategory>;

/** Every stable error code palyrad raises. */
export type ErrorCode = keyof typeof CODES;

/** The base of every error palyrad raises on purpose. */
export class PalyraError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PalyraError';
    this.code = code;
    this.details = options?.details;
  }

  get category(): ErrorCategory {
    return CODES[this.code];
  }
}

/** Shorthands for the conditions raised most often. */
export const usageError = (message: string, details?: Record<string, unknown>): PalyraError =>
  new PalyraError('PALYRA_USAGE', message, { details });

export const invalidArgument = (message: string, details?: Record<string, unknown>): PalyraError =>
  new PalyraError('PALYRA_INVALID_ARGUMENT', message, { details });

/** Wraps a Node I/O error into a one-sentence PalyraError naming what was being done. */
export function ioError(action: string, cause: unknown): PalyraError {
  const err = cause as NodeJS.ErrnoException | undefined;
  const reason = err?.code ? `${err.code}${err.message ? ` (${stripErrno(err.message)})` : ''}` : String(cause);
  return new PalyraError('PALYRA_IO', `Cannot ${action}: ${reason}`, { cause });
}

function stripErrno(message: string): string {
  // Node messages look like "ENOENT: no such file or directory, open '/x'"; keep the human part.
  const m = /^[A-Z]+: ([^,]+)/.exec(message);
  return m?.[1] ?? message;
}

/** The category of any thrown value; unknown throwables are internal errors. */
export function categoryOf(error: unknown): ErrorCategory {
  return error instanceof PalyraError ? error.category : 'internal';
}

/** CLI exit code for an error: 1 when the checked thing failed, 2 for usage and I/O problems. */
export function exitCodeOf(error: unknown): 1 | 2 {
  return categoryOf(error) === 'integrity' ? 1 : 2;
}

/** HTTP status for an error code, so transports never guess from messages. */
export function httpStatusOf(error: unknown): number {
  if (!(error instanceof PalyraError)) return 500;
  switch (error.code) {
    case 'PALYRA_NOT_FOUND':
    case 'PALYRA_APPROVAL_NOT_FOUND':
    case 'PALYRA_TOOL_NOT_FOUND':
      return 404;
    case 'PALYRA_UNAUTHORIZED':
      return 401;
    case 'PALYRA_FORBIDDEN':
      return 403;
    case 'PALYRA_CONFLICT':
      return 409;
    case 'PALYRA_METHOD_NOT_ALLOWED':
      return 405;
    case 'PALYRA_RATE_LIMITED':
      return 429;
    case 'PALYRA_REQUEST_TIMEOUT':
      return 408;
    case 'PALYRA_UNAVAILABLE':
      return 503;
    case 'PALYRA_PAYLOAD_TOO_LARGE':
      return 413;
    case 'PALYRA_STATE_LOCKED':
      return 409;
    default:
      return error.category === 'usage' ? 400 : error.category === 'integrity' ? 409 : 500;
  }
}

/** The JSON error body shape shared by the CLI (`--json`) and HTTP. */
export function errorBody(error: unknown): { error: { code: string; message: string } } {
  if (error instanceof PalyraError) return { error: { code: error.code, message: capped(error.message) } };
  const message = error instanceof Error ? error.message : String(error);
  return { error: { code: 'PALYRA_INTERNAL', message: capped(`Internal error: ${message}`) } };
}

/**
 * Told of an error that is not a PalyraError (a bug, or a failure nothing anticipated)
 * before a remote client gets its answer, with the reference the client is given.
 */
export type InternalErrorReport = (reference: string, error: unknown) => void;

/**
 * The error body for a remote client (HTTP, WebSocket). A PalyraError is told as it is
 * (its messages are written for clients). Anything else is a bug whose message may name
 * local paths or internals: the client gets a reference, and `report` (the daemon's log)
 * the details under it.
 */
export function clientErrorBody(error: unknown, report: InternalErrorReport | undefined): { error: { code: string; message: string } } {
  const reference = reportInternal(error, report);
  if (reference === null) return errorBody(error);
  return { error: { code: 'PALYRA_INTERNAL', message: `Internal error (reference ${reference}); the daemon's log has the details` } };
}

/**
 * Reports `error` under a new reference when it is a bug (not a PalyraError) and there is
 * someone to report to; returns the reference, or null. Also for errors no client will
 * read (a response already under way is only cut): the log still says why.
 */
export function reportInternal(error: unknown, report: InternalErrorReport | undefined): string | null {
  if (error instanceof PalyraError || report === undefined) return null;
  const reference = randomUUID().slice(0, 8);
  report(reference, error);
  return reference;
}

/** Longest error message sent or printed: messages quote input (a key, an op), which can be megabytes. */
const MAX_ERROR_MESSAGE = 2000;

function capped(message: string): string {
  if (message.length <= MAX_ERROR_MESSAGE) return message;
  return `${message.slice(0, MAX_ERROR_MESSAGE)}… (${message.length - MAX_ERROR_MESSAGE} more characters cut)`;
}
