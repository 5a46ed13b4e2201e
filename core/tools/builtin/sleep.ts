/**
 * `sleep`: waits, and stops at once when its call is cancelled or times out. For tests
 * and demos of timeouts, cancellation and parallel calls.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DEFAULT_LIMITS, type ToolDefinition } from '../tool.ts';

/** Input of `sleep`. */
export interface SleepInput {
  ms: number;
}

/** Longest sleep, in milliseconds. */
export const SLEEP_MAX_MS = 60_000;

/** Creates `sleep`. */
export function createSleepTool(): ToolDefinition<SleepInput> {
  return {
    name: 'sleep',
    description: `Wait for ms milliseconds (at most ${SLEEP_MAX_MS}), then return.`,
    inputSchema: {
      type: 'object',
      properties: { ms: { type: 'integer', minimum: 0, maximum: SLEEP_MAX_MS } },
      required: ['ms'],
      additionalProperties: false,
    },
    capabilities: [],
    risk: 'low',
    parallelSafe: true,
    // The longest sleep plus a margin, so a valid call never meets the registry's timeout.
    limits: { ...DEFAULT_LIMITS, timeoutMs: SLEEP_MAX_MS + 1_000 },
    async run(input, context) {
      // Rejects with an AbortError when the signal fires; the registry names it a timeout
      // or a cancellation.
      await delay(input.ms, undefined, { signal: context.signal });
      return { sleptMs: input.ms };
    },
  };
}
