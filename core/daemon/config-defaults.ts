/**
 * The defaults of every configuration key. docs/config.md lists the same values (a test in
 * config.test.ts checks that every key is documented there).
 */
import { join } from 'node:path';
import { DEFAULT_BUDGETS } from '../agent/index.ts';
import { DEFAULT_INDEX_RETENTION, DEFAULT_MAX_PAYLOAD_BYTES } from '../journal/index.ts';
import {
  CONFIG_FORMAT_VERSION,
  type AnthropicProviderConfig,
  type OpenAiProviderConfig,
  type PalyraConfig,
  type ProviderConfig,
  type ScriptedProviderConfig,
} from './config-schema.ts';

const MiB = 1024 * 1024;

/** The effective config when nothing is configured, for a state directory at `stateDir`. */
export function defaultConfig(stateDir: string): PalyraConfig {
  return {
    version: CONFIG_FORMAT_VERSION,
    server: {
      host: '127.0.0.1',
      port: 7142,
      tls: { cert: null, key: null },
      logFormat: 'text',
      maxBodyBytes: MiB,
      requestTimeoutMs: 300_000,
      headersTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 512,
    },
    providers: [providerDefaults({ type: 'scripted' })],
    budgets: { ...DEFAULT_BUDGETS },
    tools: {
      workspace: join(stateDir, 'workspace'),
      process: {
        allowedExecutables: [],
        searchPath: '/usr/local/bin:/usr/bin:/bin',
        allowedEnvKeys: ['LANG', 'LC_ALL', 'TZ'],
        defaultTimeoutMs: 10_000,
        maxTimeoutMs: 120_000,
        maxOutputBytes: MiB,
        maxStdinBytes: MiB,
        killGraceMs: 500,
      },
      http: { allow: [], maxBytes: MiB, timeoutMs: 10_000, maxRequestBytes: MiB, maxRedirects: 5, userAgent: 'palyrad-http-fetch' },
      plugins: { maxMemoryPages: 256, timeoutMs: 10_000, maxOutputBytes: MiB },
    },
    journal: { indexRetention: DEFAULT_INDEX_RETENTION, maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES, writerThread: true },
    gateway: { coalesceDebounceMs: 500, maxPendingPerConversation: 20, maxConcurrentRuns: 8 },
  };
}

const COMMON = {
  model: null,
  timeouts: { connectMs: 10_000, firstByteMs: 60_000, idleMs: 60_000 },
  maxConcurrency: 4,
  retries: 2,
};

/**
 * One provider entry with its type's defaults under what the entry sets. The entry has
 * passed the schema, so its keys are known ones of its type. Keys keep the order below
 * (id and type first), whatever order the file used.
 */
export function providerDefaults(entry: Record<string, unknown> & { type: ProviderConfig['type'] }): ProviderConfig {
  const timeouts = { ...COMMON.timeouts, ...(entry['timeouts'] as object | undefined) };
  switch (entry.type) {
    case 'openai': {
      const base: OpenAiProviderConfig = { id: 'openai', type: 'openai', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: null, apiKey: null, ...COMMON, headers: {}, stream: true };
      return { ...base, ...entry, type: 'openai', timeouts };
    }
    case 'anthropic': {
      const base: AnthropicProviderConfig = {
        id: 'anthropic',
        type: 'anthropic',
        baseUrl: 'https://api.anthropic.com',
        apiKeyEnv: null,
        apiKey: null,
        ...COMMON,
        version: '2023-06-01',
        headers: {},
        stream: true,
      };
      return { ...base, ...entry, type: 'anthropic', timeouts };
    }
    case 'scripted': {
      const base: ScriptedProviderConfig = { id: 'scripted', type: 'scripted', script: null, ...COMMON };
      return { ...base, ...entry, type: 'scripted', timeouts };
    }
  }
}
