/**
 * The pure half of the scripted provider: which turn answers a request, and the exact
 * events it produces. No time, no state beyond the arguments, so the same script and
 * request always give the same plan.
 */
import type { JsonValue } from '../../base/index.ts';
import type { ChatMessage, ProviderEvent, ProviderErrorCode, ProviderRequest } from '../contract.ts';
import type { ScriptTurn, TurnCondition } from './script.ts';

/** One event and the wait before it. */
export interface PlannedEvent {
  delayMs: number;
  event: ProviderEvent;
}

/** The values templates may use, taken from the request. */
interface TemplateValues {
  lastUser: string;
  lastUserRest: string;
  lastToolResult: string;
}

const RETRYABLE_CODES: ReadonlySet<ProviderErrorCode> = new Set(['rate_limited', 'overloaded', 'upstream', 'network', 'timeout']);

/** True when every field of `when` holds for `request`. */
export function matches(when: TurnCondition, request: ProviderRequest): boolean {
  const lastUser = lastOf(request.messages, 'user')?.content ?? '';
  if (when.lastUserStartsWith !== undefined && !lastUser.startsWith(when.lastUserStartsWith)) return false;
  if (when.lastUserMatches !== undefined && !new RegExp(when.lastUserMatches).test(lastUser)) return false;
  if (when.lastMessageRole !== undefined && request.messages.at(-1)?.role !== when.lastMessageRole) return false;
  return true;
}

/** The events `turn` produces for `request`, each with the wait before it. */
export function planTurn(turn: ScriptTurn, request: ProviderRequest): PlannedEvent[] {
  const values = templateValues(turn, request);
  const plan: PlannedEvent[] = [];
  let outputChars = 0;
  for (const chunk of chunks(turn)) {
    const text = render(chunk, values);
    outputChars += text.length;
    if (text !== '') plan.push({ delayMs: turn.delayMs ?? 0, event: { type: 'text_delta', text } });
  }
  for (const [index, call] of (turn.toolCalls ?? []).entries()) {
    const json = JSON.stringify(renderJson(call.arguments, values));
    outputChars += json.length;
    // Two fragments, split mid-string, so consumers exercise their reassembly as with
    // real adapters, whose arguments arrive in pieces.
    const cut = Math.ceil(json.length / 2);
    const id = call.id ?? `call_${request.messages.length}_${index}`;
    plan.push({ delayMs: 0, event: { type: 'tool_call_delta', index, id, name: call.name, argumentsFragment: json.slice(0, cut) } });
    plan.push({ delayMs: 0, event: { type: 'tool_call_delta', index, argumentsFragment: json.slice(cut) } });
  }
  if (turn.error !== undefined) {
    const { code, message, status, retryable, retryAfterMs, providerCode } = turn.error;
    const error = {
      code,
      message: render(message, values),
      retryable: retryable ?? RETRYABLE_CODES.has(code),
      ...(status === undefined ? {} : { status }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(providerCode === undefined ? {} : { providerCode }),
    };
    plan.push({ delayMs: 0, event: { type: 'error', error } });
    return plan;
  }
  const usage = turn.usage ?? { inputTokens: tokens(inputChars(request)), outputTokens: tokens(outputChars) };
  plan.push({ delayMs: 0, event: { type: 'usage', ...usage } });
  const reason = turn.finish ?? (turn.toolCalls?.length ? 'tool_calls' : 'stop');
  plan.push({ delayMs: 0, event: { type: 'finish', reason, raw: reason } });
  return plan;
}

function chunks(turn: ScriptTurn): string[] {
  if (turn.text === undefined) return [];
  if (typeof turn.text !== 'string') return turn.text;
  if (turn.chunkSize === undefined) return [turn.text];
  // By code point, so a chunk boundary never splits a surrogate pair.
  const chars = Array.from(turn.text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += turn.chunkSize) out.push(chars.slice(i, i + turn.chunkSize).join(''));
  return out;
}

function templateValues(turn: ScriptTurn, request: ProviderRequest): TemplateValues {
  const lastUser = lastOf(request.messages, 'user')?.content ?? '';
  const prefix = turn.when?.lastUserStartsWith;
  const lastUserRest = prefix !== undefined && lastUser.startsWith(prefix) ? lastUser.slice(prefix.length) : lastUser;
  return { lastUser, lastUserRest, lastToolResult: lastOf(request.messages, 'tool')?.content ?? '' };
}

function render(template: string, values: TemplateValues): string {
  // One pass, so a value containing "{{...}}" is never expanded again.
  return template.replace(/\{\{(lastUser|lastUserRest|lastToolResult)\}\}/g, (_m, name: keyof TemplateValues) => values[name]);
}

function renderJson(value: JsonValue, values: TemplateValues): JsonValue {
  if (typeof value === 'string') return render(value, values);
  if (Array.isArray(value)) return value.map((item) => renderJson(item, values));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderJson(item, values)]));
  }
  return value;
}

function lastOf<R extends ChatMessage['role']>(messages: ChatMessage[], role: R): Extract<ChatMessage, { role: R }> | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role === role) return message as Extract<ChatMessage, { role: R }>;
  }
  return undefined;
}

/** Characters of everything sent, for the usage estimate when a turn gives none. */
function inputChars(request: ProviderRequest): number {
  let total = request.system?.length ?? 0;
  for (const message of request.messages) total += (message.content ?? '').length;
  return total;
}

/** About four characters per token: a stable estimate so budgets see non-zero usage. */
const tokens = (chars: number): number => Math.ceil(chars / 4);
