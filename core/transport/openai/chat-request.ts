import { badRequest } from './openai-errors.ts';

/** What palyrad takes from a `POST /v1/chat/completions` body. */
export interface ChatRequest {
  /** The newest user message: the one message admitted to the session. */
  text: string;
  /** The `user` field: names the session (`openai:<user>`). */
  user: string | null;
  stream: boolean;
  /** `stream_options.include_usage`: send a usage chunk before `[DONE]`. */
  includeUsage: boolean;
  /** The model the client asked for; palyrad answers with its own model either way. */
  model: string | null;
}

/** A `user` fits a session key once prefixed with "openai:" (keys are 1–128 characters). */
const USER = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,120}$/;

/** Roles whose messages palyrad ignores: it keeps the conversation and the system prompt itself. */
const IGNORED_ROLES = new Set(['system', 'developer', 'assistant']);

/**
 * Checks a chat completion request and picks out what palyrad uses. Every refusal is a
 * 400 naming the field, so OpenAI clients raise a BadRequestError with the reason.
 */
export function parseChatRequest(body: Record<string, unknown>): ChatRequest {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw badRequest('messages must be a non-empty array of chat messages', 'messages');
  const text = newestUserText(messages);
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw badRequest(`n must be 1: palyrad answers with one choice, not ${JSON.stringify(body.n)}`, 'n');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw badRequest('stream must be true or false', 'stream');
  const options = body.stream_options;
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) throw badRequest('stream_options must be an object', 'stream_options');
  const includeUsage = (options as { include_usage?: unknown } | null | undefined)?.include_usage;
  if (includeUsage !== undefined && includeUsage !== null && typeof includeUsage !== 'boolean') throw badRequest('stream_options.include_usage must be true or false', 'stream_options');
  const user = body.user;
  if (user !== undefined && user !== null && (typeof user !== 'string' || !USER.test(user))) {
    throw badRequest(`user must be 1–121 letters, digits or . _ : @ / - (it names the palyrad session), not ${JSON.stringify(user)}`, 'user');
  }
  return {
    text,
    user: typeof user === 'string' ? user : null,
    stream: body.stream === true,
    includeUsage: includeUsage === true,
    model: typeof body.model === 'string' ? body.model : null,
  };
}

/**
 * The text of the newest user message. It must be the last message that is not a system
 * or developer message: palyrad answers that message and nothing after it.
 */
function newestUserText(messages: unknown[]): string {
  let last: { role: string; content: unknown; index: number } | null = null;
  messages.forEach((m, index) => {
    if (typeof m !== 'object' || m === null || typeof (m as { role?: unknown }).role !== 'string') throw badRequest(`messages[${index}] must be an object with a role`, 'messages');
    const { role, content } = m as { role: string; content: unknown };
    if (role === 'tool' || role === 'function') {
      // Security: palyrad runs tools itself, under its policies; a client cannot inject results.
      throw badRequest(`messages[${index}] has role "${role}": palyrad runs its own tools under its policies and takes no tool results from clients`, 'messages');
    }
    if (role !== 'user' && !IGNORED_ROLES.has(role)) throw badRequest(`messages[${index}] has an unknown role ${JSON.stringify(role)}`, 'messages');
    if (role !== 'system' && role !== 'developer') last = { role, content, index };
  });
  const found = last as { role: string; content: unknown; index: number } | null;
  if (found === null || found.role !== 'user') throw badRequest('The last message must be a user message: palyrad answers the newest user message', 'messages');
  const text = contentText(found.content, found.index);
  if (text.trim() === '') throw badRequest(`messages[${found.index}] has no text`, 'messages');
  return text;
}

/** A message's text: a string, or the text parts of a content array joined by newlines. */
function contentText(content: unknown, index: number): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw badRequest(`messages[${index}].content must be a string or an array of text parts`, 'messages');
  return content
    .map((part, i) => {
      const p = part as { type?: unknown; text?: unknown } | null;
      if (typeof p !== 'object' || p === null || p.type !== 'text' || typeof p.text !== 'string') {
        throw badRequest(`messages[${index}].content[${i}] is not a text part: palyrad takes text only`, 'messages');
      }
      return p.text;
    })
    .join('\n');
}
