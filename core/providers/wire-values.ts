import type { ProviderFailure } from './contract.ts';
import { oversizeFailure } from './http-errors.ts';

/**
 * Checks on values both wire mappers decode from a provider's JSON. An upstream is not
 * trusted: a value of the wrong type must become a classified failure or be ignored,
 * never a TypeError (which would be reported as a network failure) or a bogus number.
 */

/**
 * Tool calls one turn may hold. Each call costs the daemon far more than its bytes on the
 * wire (events, a collected call, a journal entry), so the response cap alone lets a
 * flood of tiny calls multiply memory; no real turn comes near this many.
 */
export const MAX_TOOL_CALLS_PER_TURN = 256;

/** The failure for a turn with a tool call past {@link MAX_TOOL_CALLS_PER_TURN}: not retryable, like every cap. */
export function tooManyToolCallsFailure(provider: string): ProviderFailure {
  return oversizeFailure(provider, `the turn has more than the ${MAX_TOOL_CALLS_PER_TURN} tool calls a turn may hold`);
}

/** True for a JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A token count as sent, or undefined when it is not one. Security: only a finite,
 * non-negative safe integer counts; a string would concatenate into a counter, a negative
 * would pay back a budget, and `1e999` parses to Infinity.
 */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A tool call's `arguments` as a text fragment: some servers send the object itself. */
export function argumentsText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
