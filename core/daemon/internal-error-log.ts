import type { InternalErrorReport, JsonValue } from '../base/index.ts';
import type { Redactor } from '../journal/index.ts';

/**
 * Logs an error a client met that is a bug (not a PalyraError), under the reference the
 * client was given instead of the details (see clientErrorBody). The details keep the
 * stack, for whoever fixes it; secrets the daemon knows are hidden first, as everywhere
 * else: a log is no place for them either.
 */
export function internalErrorLogger(log: (message: string, fields?: Record<string, unknown>) => void, redactor: Redactor): InternalErrorReport {
  return (reference, error) => {
    const raw = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    const detail = redactor.hideKnownSecrets(raw as JsonValue).value as string;
    log(`internal error (reference ${reference}) answering a client: ${detail}`, { internalError: { reference, detail } });
  };
}
