/**
 * The shape of palyrad's configuration: the TypeScript types of the effective (fully
 * defaulted) config, and the JSON Schema every layer (file, environment, flags) is
 * validated against. Every key is documented in docs/config.md.
 *
 * The shapes map 1:1 onto the options of the parts they configure: a provider entry onto
 * `createOpenAiProvider` / `createAnthropicProvider` / `createScriptedProvider` plus
 * `withResilience`, `budgets` onto `RunBudgets`, `tools.process` onto `ProcessRunOptions`,
 * `tools.http` onto `HttpFetchOptions`, `tools.plugins` onto `PluginRunToolOptions`.
 */
import type { RunBudgets } from '../agent/index.ts';
import type { HttpTimeouts } from '../providers/index.ts';
import { MAX_PAYLOAD_BYTES_LIMIT, MIN_PAYLOAD_BYTES_LIMIT } from '../journal/index.ts';

/** Version of the config file format; a file may state it as `version = 1`. */
export const CONFIG_FORMAT_VERSION = 1;

/** Log line format of the daemon. */
export type LogFormat = 'text' | 'json';

/** TLS certificate and key files (PEM); both or neither. */
export interface TlsConfig {
  cert: string | null;
  key: string | null;
}

/** The HTTP/WebSocket listener. */
export interface ServerConfig {
  host: string;
  port: number;
  tls: TlsConfig;
  logFormat: LogFormat;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Whole-request timeout (node:http `requestTimeout`). */
  requestTimeoutMs: number;
  /** Time to receive the request headers (node:http `headersTimeout`). */
  headersTimeoutMs: number;
  /** Idle keep-alive connection timeout (node:http `keepAliveTimeout`). */
  keepAliveTimeoutMs: number;
  /**
   * Open connections at most (HTTP, WebSocket and worker alike); past it, new ones are
   * closed at once (node:net `maxConnections`), so a flood of idle sockets cannot exhaust
   * the process's file descriptors.
   */
  maxConnections: number;
}

/** What every provider entry has; `retries` are attempts after the first (maxAttempts - 1). */
interface ProviderCommon {
  id: string;
  model: string | null;
  timeouts: HttpTimeouts;
  maxConcurrency: number;
  retries: number;
}

/** An OpenAI-compatible chat completions server (OpenAI, Ollama, vLLM, llama.cpp, LM Studio). */
export interface OpenAiProviderConfig extends ProviderCommon {
  type: 'openai';
  baseUrl: string;
  /** Name of the environment variable holding the key; none for local servers. */
  apiKeyEnv: string | null;
  /** The key itself; discouraged (use apiKeyEnv), always redacted. */
  apiKey: string | null;
  headers: Record<string, string>;
  stream: boolean;
}

/** The Anthropic Messages API. */
export interface AnthropicProviderConfig extends ProviderCommon {
  type: 'anthropic';
  baseUrl: string;
  apiKeyEnv: string | null;
  apiKey: string | null;
  /** The `anthropic-version` header. */
  version: string;
  headers: Record<string, string>;
  stream: boolean;
}

/** The scripted provider: a script file, or the embedded default script when null. */
export interface ScriptedProviderConfig extends ProviderCommon {
  type: 'scripted';
  script: string | null;
}

/** One provider, in failover order. */
export type ProviderConfig = OpenAiProviderConfig | AnthropicProviderConfig | ScriptedProviderConfig;

/** Built-in tools: the workspace and the operator's allowlists and limits. */
export interface ToolsConfig {
  /** Root of the workspace tools are confined to. */
  workspace: string;
  process: {
    allowedExecutables: string[];
    searchPath: string;
    allowedEnvKeys: string[];
    defaultTimeoutMs: number;
    maxTimeoutMs: number;
    maxOutputBytes: number;
    maxStdinBytes: number;
    killGraceMs: number;
  };
  http: {
    /** Exemptions from the SSRF guard (addresses, CIDRs, host names, `*.suffix`). */
    allow: string[];
    maxBytes: number;
    timeoutMs: number;
    maxRequestBytes: number;
    maxRedirects: number;
    userAgent: string;
  };
  plugins: {
    maxMemoryPages: number;
    timeoutMs: number;
    maxOutputBytes: number;
  };
}

/** Journal limits; the same values as PALYRA_JOURNAL_* (see journal-options.ts). */
export interface JournalConfig {
  indexRetention: number;
  maxPayloadBytes: number;
  writerThread: boolean;
}

/** Inbound admission and run concurrency of the gateway. */
export interface GatewayConfig {
  coalesceDebounceMs: number;
  maxPendingPerConversation: number;
  maxConcurrentRuns: number;
}

/** The effective configuration: every key present, defaults filled. */
export interface PalyraConfig {
  version: number;
  server: ServerConfig;
  providers: ProviderConfig[];
  budgets: RunBudgets;
  tools: ToolsConfig;
  journal: JournalConfig;
  gateway: GatewayConfig;
}

type Schema = Record<string, unknown>;

const posInt: Schema = { type: 'integer', minimum: 1 };
const nonNegInt: Schema = { type: 'integer', minimum: 0 };
/**
 * The longest delay a Node.js timer takes (2^31 − 1 ms, about 24.8 days); a longer one
 * fires at once, with a warning. Every `*Ms` key is capped here.
 */
export const MAX_TIMER_MS = 2_147_483_647;
const ms: Schema = { type: 'integer', minimum: 1, maximum: MAX_TIMER_MS };
const nonNegMs: Schema = { type: 'integer', minimum: 0, maximum: MAX_TIMER_MS };
const text: Schema = { type: 'string', minLength: 1 };
const optionalText: Schema = { type: ['string', 'null'], minLength: 1 };
const stringList: Schema = { type: 'array', items: text };
const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

function object(properties: Record<string, Schema>, extra: Schema = {}): Schema {
  return { type: 'object', properties, additionalProperties: false, ...extra };
}

const providerCommon: Record<string, Schema> = {
  id: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' },
  model: optionalText,
  timeouts: object({ connectMs: ms, firstByteMs: ms, idleMs: ms }),
  maxConcurrency: posInt,
  retries: { type: 'integer', minimum: 0, maximum: 10 },
};
const httpProvider: Record<string, Schema> = {
  baseUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
  apiKeyEnv: { type: ['string', 'null'], pattern: ENV_NAME },
  apiKey: optionalText,
  headers: { type: 'object', propertyNames: { pattern: '^[A-Za-z0-9-]+$' }, additionalProperties: { type: 'string' } },
  stream: { type: 'boolean' },
};

/** The providers' type names, in the order messages list them. */
export const PROVIDER_TYPES = ['openai', 'anthropic', 'scripted'] as const;

/**
 * JSON Schema (draft-07, Ajv with `discriminator`) of one layer of configuration. Every key
 * is optional, so it checks the file, the environment's and the flags' contributions each
 * on its own (and the merged result); unknown keys are refused everywhere.
 */
export const CONFIG_SCHEMA: Schema = object({
  version: { type: 'integer', const: CONFIG_FORMAT_VERSION },
  server: object({
    host: text,
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    tls: object({ cert: optionalText, key: optionalText }),
    logFormat: { enum: ['text', 'json'] },
    maxBodyBytes: posInt,
    requestTimeoutMs: ms,
    headersTimeoutMs: ms,
    keepAliveTimeoutMs: ms,
    maxConnections: { type: 'integer', minimum: 1, maximum: 65536 },
  }),
  providers: {
    type: 'array',
    minItems: 1,
    items: {
      type: 'object',
      properties: { type: { enum: [...PROVIDER_TYPES] } },
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [
        object({ type: { const: 'openai' }, ...providerCommon, ...httpProvider }),
        object({ type: { const: 'anthropic' }, ...providerCommon, ...httpProvider, version: text }),
        object({ type: { const: 'scripted' }, ...providerCommon, script: optionalText }),
      ],
    },
  },
  budgets: object({
    maxTurns: posInt,
    maxToolCalls: posInt,
    wallClockMs: ms,
    maxTokens: { type: ['integer', 'null'], minimum: 1 },
    cost: {
      type: ['object', 'null'],
      properties: { inputPerToken: { type: 'number', minimum: 0 }, outputPerToken: { type: 'number', minimum: 0 }, ceiling: { type: 'number', minimum: 0 } },
      required: ['inputPerToken', 'outputPerToken', 'ceiling'],
      additionalProperties: false,
    },
    loopThreshold: posInt,
    tapeMaxEvents: posInt,
    tapeMaxBytes: posInt,
    maxParallelTools: posInt,
  }),
  tools: object({
    workspace: text,
    process: object({
      allowedExecutables: stringList,
      searchPath: text,
      allowedEnvKeys: { type: 'array', items: { type: 'string', pattern: ENV_NAME } },
      defaultTimeoutMs: ms,
      maxTimeoutMs: ms,
      maxOutputBytes: posInt,
      maxStdinBytes: posInt,
      killGraceMs: nonNegMs,
    }),
    http: object({
      allow: stringList,
      maxBytes: posInt,
      timeoutMs: ms,
      maxRequestBytes: posInt,
      maxRedirects: { type: 'integer', minimum: 0, maximum: 5 },
      userAgent: text,
    }),
    plugins: object({ maxMemoryPages: posInt, timeoutMs: ms, maxOutputBytes: posInt }),
  }),
  journal: object({ indexRetention: posInt, maxPayloadBytes: { type: 'integer', minimum: MIN_PAYLOAD_BYTES_LIMIT, maximum: MAX_PAYLOAD_BYTES_LIMIT }, writerThread: { type: 'boolean' } }),
  gateway: object({ coalesceDebounceMs: nonNegMs, maxPendingPerConversation: posInt, maxConcurrentRuns: posInt }),
});
