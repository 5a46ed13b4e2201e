import type { ServerResponse } from 'node:http';
import { clientErrorBody, httpStatusOf, reportInternal, type InternalErrorReport } from '../../base/index.ts';
import type { RunView } from '../../gateway/index.ts';

/** The error body OpenAI clients parse: `{"error":{"message","type","code","param"}}`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; code: string; param: string | null; run_id?: string };
}

/**
 * An error answered in OpenAI's shape. `retry` is sent as `x-should-retry`, which the
 * official clients obey: false once a run was admitted, because a retry would start
 * another run (and run its tools again).
 */
export class OpenAiHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: OpenAiErrorBody,
    readonly retry: boolean,
  ) {
    super(body.error.message);
    this.name = 'OpenAiHttpError';
  }
}

/** OpenAI's error `type` for a status. */
export function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 409) return 'conflict_error';
  if (status === 504) return 'timeout_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** Any thrown value as an OpenAI-shaped error; PalyraErrors keep their status and code; `report`: see clientErrorBody. */
export function toOpenAiError(error: unknown, report?: InternalErrorReport): OpenAiHttpError {
  if (error instanceof OpenAiHttpError) return error;
  const status = httpStatusOf(error);
  const { code, message } = clientErrorBody(error, report).error;
  return new OpenAiHttpError(status, { error: { message, type: openAiErrorType(status), code, param: null } }, status === 503);
}

/** A 400 naming the offending request field. */
export function badRequest(message: string, param: string | null): OpenAiHttpError {
  return new OpenAiHttpError(400, { error: { message, type: 'invalid_request_error', code: 'PALYRA_INVALID_ARGUMENT', param } }, false);
}

/**
 * The error for a run that ended without an answer: 502 when the model provider failed
 * (reason "provider: …"), 409 when it was cancelled, 500 otherwise.
 */
export function runEndedError(run: RunView): OpenAiHttpError {
  const reason = run.reason ?? 'no reason recorded';
  const [status, code] = run.state === 'cancelled' ? [409, 'run_cancelled'] : reason.startsWith('provider:') ? [502, 'run_failed'] : [500, 'run_failed'];
  const message = `Run "${run.runId}" ${run.state === 'cancelled' ? 'was cancelled' : 'failed'}: ${reason}`;
  return new OpenAiHttpError(status, { error: { message, type: openAiErrorType(status), code, param: null, run_id: run.runId } }, false);
}

/** Sends an error in OpenAI's shape (or cuts the connection when a response is under way). */
export function sendOpenAiError(res: ServerResponse, error: unknown, report?: InternalErrorReport): void {
  if (res.headersSent) {
    if (!(error instanceof OpenAiHttpError)) reportInternal(error, report);
    res.destroy();
    return;
  }
  const e = toOpenAiError(error, report);
  const text = JSON.stringify(e.body);
  res.writeHead(e.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-should-retry': String(e.retry),
  });
  res.end(text);
}
