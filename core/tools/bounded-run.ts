/**
 * Runs one tool call under its wall-clock limit and the caller's cancellation.
 *
 * The tool gets one AbortSignal that fires on whichever comes first: its own timeout or
 * the caller aborting `context.signal`. Which one fired decides the outcome, whatever the
 * tool throws in response (an AbortError, its own cancellation error), so callers see
 * PALYRA_TOOL_TIMEOUT or PALYRA_TOOL_CANCELLED consistently.
 */
import { PalyraError } from '../base/index.ts';
import type { ToolContext, ToolDefinition } from './tool.ts';

/** How a bounded call ended. */
export type BoundedOutcome =
  | { type: 'returned'; output: unknown }
  | { type: 'threw'; error: unknown }
  | { type: 'timeout' }
  | { type: 'cancelled' };

/**
 * Calls `tool.run(input)` with a signal bounded by `tool.limits.timeoutMs` and by
 * `context.signal`. After an abort it waits up to `graceMs` for the tool to settle, so a
 * well-behaved tool has cleaned up (its process group killed) before the caller hears of
 * it; a tool that ignores its signal is abandoned after the grace and its late result is
 * dropped.
 */
export async function boundedRun(
  tool: ToolDefinition<unknown>,
  input: unknown,
  context: ToolContext,
  options: { graceMs: number },
): Promise<BoundedOutcome> {
  const controller = new AbortController();
  let abortedBy: 'timeout' | 'cancelled' | null = null;
  const abort = (why: 'timeout' | 'cancelled'): void => {
    if (abortedBy !== null) return;
    abortedBy = why;
    const code = why === 'timeout' ? 'PALYRA_TOOL_TIMEOUT' : 'PALYRA_TOOL_CANCELLED';
    controller.abort(new PalyraError(code, `Tool "${tool.name}" ${why === 'timeout' ? 'timed out' : 'was cancelled'}`));
  };
  const onCallerAbort = (): void => abort('cancelled');
  const timer = setTimeout(() => abort('timeout'), tool.limits.timeoutMs);
  context.signal.addEventListener('abort', onCallerAbort, { once: true });
  const aborted = new Promise<null>((resolve) => controller.signal.addEventListener('abort', () => resolve(null), { once: true }));
  let grace: ReturnType<typeof setTimeout> | undefined;
  try {
    // Promise.resolve().then: a tool that throws synchronously still becomes an outcome.
    const running: Promise<BoundedOutcome> = Promise.resolve()
      .then(() => tool.run(input, { ...context, signal: controller.signal }))
      .then(
        (output): BoundedOutcome => ({ type: 'returned', output }),
        (error: unknown): BoundedOutcome => ({ type: 'threw', error }),
      );
    const first = await Promise.race([running, aborted]);
    if (first !== null && abortedBy === null) return first;
    await Promise.race([running, new Promise<void>((resolve) => (grace = setTimeout(resolve, options.graceMs)))]);
    // Non-null here: only an abort gets past the early return above.
    return { type: abortedBy ?? 'cancelled' };
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
    context.signal.removeEventListener('abort', onCallerAbort);
  }
}
