import { PalyraError } from '../../base/index.ts';

/** One call's time budget, shared by DNS, connect, headers and body of every hop. */
export interface Deadline {
  /** Aborted when the budget runs out or the caller cancels. */
  readonly signal: AbortSignal;
  /** Milliseconds left (at least 1, so it can be handed to timers that reject 0). */
  remainingMs(): number;
  /** Settles with `promise`, or rejects as soon as the signal aborts (for non-abortable work). */
  race<T>(promise: Promise<T>): Promise<T>;
  /** Maps whatever a hop threw to the PalyraError to report. */
  translate(error: unknown, origin: string): PalyraError;
  /** Clears the timer and listeners; call once, in `finally`. */
  dispose(): void;
}

const TIMEOUT = Symbol('timeout');
const CANCELLED = Symbol('cancelled');

const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const UNDICI_LIMITS = new Set(['UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_RES_EXCEEDED_MAX_SIZE']);

/**
 * Starts a deadline of `timeoutMs` that also follows the tool context's cancel signal.
 * Security: one total budget (not one per phase or per hop), so a server that trickles
 * bytes or a chain of slow redirects cannot hold a call open past it.
 */
export function startDeadline(timeoutMs: number, outer: AbortSignal): Deadline {
  const controller = new AbortController();
  const started = performance.now();
  const timer = setTimeout(() => controller.abort(TIMEOUT), timeoutMs);
  const onCancel = (): void => controller.abort(CANCELLED);
  if (outer.aborted) onCancel();
  else outer.addEventListener('abort', onCancel, { once: true });

  return {
    signal: controller.signal,
    remainingMs: () => Math.max(1, Math.ceil(timeoutMs - (performance.now() - started))),
    race(promise) {
      return new Promise((resolve, reject) => {
        if (controller.signal.aborted) return reject(controller.signal.reason);
        const onAbort = (): void => reject(controller.signal.reason);
        controller.signal.addEventListener('abort', onAbort, { once: true });
        promise.then(resolve, reject).finally(() => controller.signal.removeEventListener('abort', onAbort));
      });
    },
    translate(error, origin) {
      if (controller.signal.reason === TIMEOUT || UNDICI_TIMEOUTS.has(codeOf(error))) {
        return new PalyraError('PALYRA_TOOL_TIMEOUT', `Request to "${origin}" timed out after ${timeoutMs} ms`, { cause: error });
      }
      if (controller.signal.reason === CANCELLED) {
        return new PalyraError('PALYRA_TOOL_CANCELLED', `Request to "${origin}" was cancelled`, { cause: error });
      }
      if (error instanceof PalyraError) return error;
      if (UNDICI_LIMITS.has(codeOf(error))) {
        return new PalyraError('PALYRA_TOOL_LIMIT_EXCEEDED', `Response from "${origin}" exceeds a limit: ${messageOf(error)}`, { cause: error });
      }
      const code = codeOf(error);
      return new PalyraError('PALYRA_TOOL_FAILED', `Request to "${origin}" failed: ${code ? `${code} ` : ''}(${messageOf(error)})`, {
        cause: error,
      });
    },
    dispose() {
      clearTimeout(timer);
      outer.removeEventListener('abort', onCancel);
    },
  };
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
