/**
 * The scripted provider's script: its shape, validation and loading. A script is plain
 * JSON (version 1) so tests, demos and the embedded default share one format.
 *
 * ```json
 * { "version": 1, "turns": [
 *   { "when": { "lastUserStartsWith": "echo " },
 *     "toolCalls": [{ "name": "echo", "arguments": { "text": "{{lastUserRest}}" } }] },
 *   { "text": ["Hel", "lo"], "delayMs": 20, "usage": { "inputTokens": 5, "outputTokens": 2 } },
 *   { "error": { "code": "overloaded", "message": "busy", "retryAfterMs": 1000 } }
 * ] }
 * ```
 * How a turn is chosen per call is described on `createScriptedProvider`.
 */
import { readFile } from 'node:fs/promises';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { ioError, PalyraError, type JsonValue } from '../../base/index.ts';
import type { FinishReason, ProviderErrorCode } from '../contract.ts';

/** A condition on the request; all given fields must hold. `{}` matches every request. */
export interface TurnCondition {
  /** The last user message starts with this; `{{lastUserRest}}` is then what follows it. */
  lastUserStartsWith?: string;
  /** The last user message matches this regular expression (JavaScript syntax). */
  lastUserMatches?: string;
  /** The role of the request's last message, e.g. "tool" right after a tool result. */
  lastMessageRole?: 'user' | 'assistant' | 'tool';
}

/** A tool call to emit; `arguments` is sent as JSON in argument fragments. */
export interface ScriptedToolCall {
  /** Default: `call_<message count>_<index>`, unique within a conversation. */
  id?: string;
  name: string;
  arguments: { [key: string]: JsonValue };
}

/** A failure to emit, e.g. to exercise retries. */
export interface ScriptedError {
  code: ProviderErrorCode;
  message: string;
  status?: number;
  /** Default: true for rate_limited, overloaded, upstream, network and timeout. */
  retryable?: boolean;
  retryAfterMs?: number;
  providerCode?: string;
}

/**
 * One model turn. Emitted in this order: text chunks, tool calls, then either the error
 * (which ends the stream) or usage and finish. Strings in `text` and in tool-call
 * arguments may use `{{lastUser}}`, `{{lastUserRest}}` and `{{lastToolResult}}`.
 */
export interface ScriptTurn {
  when?: TurnCondition;
  /** One string, or the chunks to stream one by one. */
  text?: string | string[];
  /** Splits a string `text` into chunks of this many characters. */
  chunkSize?: number;
  /** Wait before each text chunk, in ms. */
  delayMs?: number;
  toolCalls?: ScriptedToolCall[];
  /** Default: an estimate of about four characters per token. */
  usage?: { inputTokens: number; outputTokens: number };
  /** Default: "tool_calls" when the turn has tool calls, else "stop". */
  finish?: FinishReason;
  error?: ScriptedError;
}

/** A whole script. */
export interface Script {
  version: 1;
  turns: ScriptTurn[];
}

const ERROR_CODES: ProviderErrorCode[] = [
  'auth', 'rate_limited', 'overloaded', 'timeout', 'bad_request', 'context_length', 'upstream', 'network', 'cancelled',
];
const FINISH_REASONS: FinishReason[] = ['stop', 'tool_calls', 'length', 'content_filter', 'error', 'other'];
const count = { type: 'integer', minimum: 0 };

/** The JSON Schema (draft 2020-12) of a script file. */
export const SCRIPT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'turns'],
  properties: {
    version: { const: 1 },
    turns: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          when: {
            type: 'object',
            additionalProperties: false,
            properties: {
              lastUserStartsWith: { type: 'string' },
              lastUserMatches: { type: 'string' },
              lastMessageRole: { enum: ['user', 'assistant', 'tool'] },
            },
          },
          text: { type: ['string', 'array'], items: { type: 'string' } },
          chunkSize: { type: 'integer', minimum: 1 },
          delayMs: count,
          toolCalls: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'arguments'],
              properties: { id: { type: 'string', minLength: 1 }, name: { type: 'string', minLength: 1 }, arguments: { type: 'object' } },
            },
          },
          usage: {
            type: 'object',
            additionalProperties: false,
            required: ['inputTokens', 'outputTokens'],
            properties: { inputTokens: count, outputTokens: count },
          },
          finish: { enum: FINISH_REASONS },
          error: {
            type: 'object',
            additionalProperties: false,
            required: ['code', 'message'],
            properties: {
              code: { enum: ERROR_CODES },
              message: { type: 'string' },
              status: { type: 'integer', minimum: 100, maximum: 599 },
              retryable: { type: 'boolean' },
              retryAfterMs: count,
              providerCode: { type: 'string' },
            },
          },
        },
      },
    },
  },
} as const;

// Compiled once on first use: the draft 2020-12 meta-schema costs tens of milliseconds.
let validator: ((value: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

/**
 * Checks that `value` is a script and returns it typed. Throws `PALYRA_INVALID_ARGUMENT`
 * naming the first bad field, e.g. `Invalid script "s.json": turns[0].error.code must be
 * one of: auth, ...`. `source` names the script in messages.
 */
export function parseScript(value: unknown, source = 'script'): Script {
  validator ??= new Ajv2020({ strict: true, strictTypes: false, allErrors: false, logger: false }).compile(SCRIPT_SCHEMA);
  if (!validator(value)) {
    const first = validator.errors?.[0];
    const problem = first === undefined ? 'does not match the schema' : describe(first);
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid script "${source}": ${problem}`, { details: { source } });
  }
  const script = value as Script;
  for (const [i, turn] of script.turns.entries()) {
    const where = `turns[${i}]`;
    if (turn.text === undefined && turn.toolCalls === undefined && turn.error === undefined) {
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid script "${source}": ${where} needs text, toolCalls or error`);
    }
    const pattern = turn.when?.lastUserMatches;
    if (pattern !== undefined) {
      try {
        new RegExp(pattern);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid script "${source}": ${where}.when.lastUserMatches is not a valid regular expression: ${reason}`);
      }
    }
  }
  return script;
}

/** Reads and validates a script file (see {@link parseScript} for the errors). */
export async function loadScript(path: string): Promise<Script> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw ioError(`read script "${path}"`, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PalyraError('PALYRA_INVALID_JSON', `Invalid script "${path}": not JSON: ${reason}`, { cause: error });
  }
  return parseScript(value, path);
}

/** One sentence naming the field: JSON pointer `/turns/0/text` reads `turns[0].text`. */
function describe(error: ErrorObject): string {
  const field = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  const at = (name: string): string => (field === '' ? name : `${field}.${name}`);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${at(String(params['missingProperty']))} is required`;
    case 'additionalProperties':
      return `${at(String(params['additionalProperty']))} is not a known field`;
    case 'enum':
      return `${field} must be one of: ${(params['allowedValues'] as unknown[]).join(', ')}`;
    case 'type':
      return `${field} must be ${String(params['type']).split(',').join(' or ')}`;
    case 'const':
      return `${field} must be ${JSON.stringify(params['allowedValue'])}`;
    default:
      return `${field === '' ? 'the script' : field} ${error.message ?? 'is invalid'}`;
  }
}
