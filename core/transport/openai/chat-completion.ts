import type { RunView } from '../../gateway/index.ts';

/** OpenAI's `usage` object. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** The identity every object of one answer shares: `chatcmpl-<runId>`, created (seconds), model. */
export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

/** The identity of the answer to `run`, served as `model`. */
export function completionIdentity(run: Pick<RunView, 'runId' | 'createdAt'>, model: string): CompletionIdentity {
  return { id: `chatcmpl-${run.runId}`, created: Math.floor(run.createdAt / 1000), model };
}

/** The run's token counters as OpenAI usage (zeros when the run kept none). */
export function usageOf(run: RunView): ChatUsage {
  const input = run.counters?.inputTokens ?? 0;
  const output = run.counters?.outputTokens ?? 0;
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}

/** The `chat.completion` object of a completed run. */
export function chatCompletion(run: RunView, model: string): Record<string, unknown> {
  return {
    ...completionIdentity(run, model),
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: run.finalText ?? '', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: usageOf(run),
    system_fingerprint: null,
  };
}

/** What one streamed chunk carries. */
export type ChunkBody =
  | { type: 'role' }
  | { type: 'content'; text: string }
  | { type: 'finish' }
  | { type: 'usage'; usage: ChatUsage };

/** A `chat.completion.chunk` object; a usage chunk has no choices, as OpenAI sends it. */
export function chatChunk(identity: CompletionIdentity, body: ChunkBody, includeUsage: boolean): Record<string, unknown> {
  const base = { ...identity, object: 'chat.completion.chunk', system_fingerprint: null };
  // OpenAI sends `usage: null` on every other chunk when usage was asked for.
  const usageField = includeUsage ? { usage: null } : {};
  switch (body.type) {
    case 'role':
      return { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...usageField };
    case 'content':
      return { ...base, choices: [{ index: 0, delta: { content: body.text }, logprobs: null, finish_reason: null }], ...usageField };
    case 'finish':
      return { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], ...usageField };
    case 'usage':
      return { ...base, choices: [], usage: body.usage };
  }
  const unknownBody: never = body;
  return unknownBody;
}
