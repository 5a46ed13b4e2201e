/**
 * `echo`: returns its text. For tests, demos and checking that the tool path works end
 * to end (policy, approvals, journal) without touching anything.
 */
import { DEFAULT_LIMITS, type ToolDefinition } from '../tool.ts';

/** Input of `echo`. */
export interface EchoInput {
  text: string;
}

/** Longest text `echo` accepts, in characters. */
export const ECHO_MAX_TEXT = 64 * 1024;

/** Creates `echo`. */
export function createEchoTool(): ToolDefinition<EchoInput> {
  return {
    name: 'echo',
    description: 'Return the given text unchanged.',
    inputSchema: {
      type: 'object',
      properties: { text: { type: 'string', maxLength: ECHO_MAX_TEXT } },
      required: ['text'],
      additionalProperties: false,
    },
    capabilities: [],
    risk: 'low',
    parallelSafe: true,
    limits: { ...DEFAULT_LIMITS },
    run(input) {
      return Promise.resolve({ text: input.text });
    },
  };
}
