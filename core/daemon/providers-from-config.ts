import { PalyraError, type Clock } from '../base/index.ts';
import {
  createAnthropicProvider,
  createOpenAiProvider,
  createScriptedProvider,
  DEFAULT_SCRIPT,
  loadScript,
  withFailover,
  withResilience,
  type FailoverCandidate,
  type ModelProvider,
} from '../providers/index.ts';
import type { ProviderConfig } from './config-schema.ts';

/**
 * Builds the daemon's model provider from the configured list: each entry wrapped in
 * retries, a circuit breaker and concurrency leases, the list in failover order. The
 * model a run asks for is the first entry's; later entries are asked for their own.
 * API keys come from the environment variable each entry names (or, discouraged, the
 * file); a missing key is a start-up error naming the variable, never the key.
 */
export async function providerFromConfig(entries: readonly ProviderConfig[], env: NodeJS.ProcessEnv, clock: Clock): Promise<{ provider: ModelProvider; model: string }> {
  if (entries.length === 0) throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'The configuration lists no provider');
  const candidates: FailoverCandidate[] = [];
  for (const entry of entries) {
    const raw = await build(entry, env);
    const provider = withResilience(raw, {
      clock,
      retries: { maxAttempts: entry.retries + 1 },
      leases: { max: entry.maxConcurrency },
    });
    candidates.push(entry.model ? { provider, model: entry.model } : provider);
  }
  const first = entries[0] as ProviderConfig;
  const provider = candidates.length === 1 ? ((candidates[0] as { provider?: ModelProvider }).provider ?? (candidates[0] as ModelProvider)) : withFailover(candidates);
  return { provider, model: first.model ?? first.type };
}

async function build(entry: ProviderConfig, env: NodeJS.ProcessEnv): Promise<ModelProvider> {
  switch (entry.type) {
    case 'scripted':
      return createScriptedProvider(entry.script ? await loadScript(entry.script) : DEFAULT_SCRIPT, { id: entry.id });
    case 'openai': {
      const apiKey = keyOf(entry, env, false);
      return createOpenAiProvider({ id: entry.id, baseUrl: entry.baseUrl, ...(apiKey ? { apiKey } : {}), ...(entry.model ? { model: entry.model } : {}), headers: entry.headers, timeouts: entry.timeouts, stream: entry.stream });
    }
    case 'anthropic':
      return createAnthropicProvider({
        id: entry.id,
        baseUrl: entry.baseUrl,
        apiKey: keyOf(entry, env, true) as string,
        version: entry.version,
        ...(entry.model ? { model: entry.model } : {}),
        headers: entry.headers,
        timeouts: entry.timeouts,
        stream: entry.stream,
      });
    default: {
      const unreachable: never = entry;
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Unknown provider type in ${JSON.stringify(unreachable)}`);
    }
  }
}

function keyOf(entry: { id: string; apiKeyEnv: string | null; apiKey: string | null }, env: NodeJS.ProcessEnv, required: boolean): string | null {
  if (entry.apiKeyEnv) {
    const value = env[entry.apiKeyEnv];
    if (value) return value;
    if (required) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Provider "${entry.id}" needs its API key in the environment variable ${entry.apiKeyEnv}, which is not set`);
    return null;
  }
  if (entry.apiKey) return entry.apiKey;
  if (required) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Provider "${entry.id}" has no API key: set apiKeyEnv to the name of the variable holding it`);
  return null;
}
