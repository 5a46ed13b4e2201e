/**
 * The embedded default script, played when no model provider is configured. It lets a
 * fresh install answer, and exercise the tool path, without any key or network:
 *
 * - after a tool result, it reports what the tool returned;
 * - a user message starting with "echo " becomes a call of the `echo` tool with the rest
 *   of the message as `text` ("echo hi" → `echo({ text: "hi" })`);
 * - anything else gets a friendly reply saying this is the scripted provider.
 */
import type { Script } from './script.ts';

/** The default script (see the module comment for what it does). */
export const DEFAULT_SCRIPT: Script = {
  version: 1,
  turns: [
    // First, so the turn after the echo call reports the result instead of calling again.
    { when: { lastMessageRole: 'tool' }, text: 'The tool returned: {{lastToolResult}}' },
    {
      when: { lastMessageRole: 'user', lastUserStartsWith: 'echo ' },
      toolCalls: [{ name: 'echo', arguments: { text: '{{lastUserRest}}' } }],
    },
    {
      when: {},
      text:
        'Hello! I am palyrad\'s scripted provider: no model provider is configured, so I play a ' +
        'built-in script instead of calling a model. Configure an OpenAI-compatible or Anthropic ' +
        'provider for real answers. Try "echo <text>" to see a tool call.',
      // Streamed in chunks so clients see a stream, as they would with a real model.
      chunkSize: 24,
    },
  ],
};
