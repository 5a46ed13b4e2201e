import { PalyraError, type Clock } from '../base/index.ts';
import {
  createAnthropicProvider,
  createOpenAiProvider,
  createScriptedProvider,
  DEFAULT_ANTHROPIC_MODEL,
  DEFAULT_SCRIPT,
  loadScript,
  withFailover,
  withResilience,
  type FailoverCandidate,
  type ModelProvider,
} from '../providers/index.ts';
import type { ProviderConfig } from './config-schema.ts';
import { CONTROL_PROBLEM, hasControlCharacter } from './config.ts';

/**
 * Builds the daemon's model provider from the configured list: each entry wrapped in
 * retries, a circuit breaker and concurrency leases, the list in failover order. Each
 * entry is asked for its own model (see {@link entryModel}); a run's model is the first's.
 * API keys come from the environment variable each entry names (or, discouraged, the
 * file); a missing key is a start-up error naming the variable, never the key.
 */
export async function providerFromConfig(entries: readonly ProviderConfig[], env: NodeJS.ProcessEnv, clock: Clock): Promise<{ provider: ModelProvider; model: string }> {
  if (entries.length === 0) throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'The configuration lists no provider');
  const models = entries.map(entryModel);
  const candidates: FailoverCandidate[] = [];
  for (const [i, entry] of entries.entries()) {
    const raw = await build(entry, env);
    const provider = withResilience(raw, {
      clock,
      retries: { maxAttempts: entry.retries + 1 },
      leases: { max: entry.maxConcurrency },
    });
    candidates.push({ provider, model: models[i] as string });
  }
  const only = candidates[0] as { provider: ModelProvider };
  const provider = candidates.length === 1 ? only.provider : withFailover(candidates);
  return { provider, model: models[0] as string };
}

/**
 * The model an entry is asked for: its `model`, else its adapter's default. Anthropic's
 * is `DEFAULT_ANTHROPIC_MODEL`; the scripted provider ignores the model, so its type name
 * stands in (tapes record it). OpenAI-compatible servers share no model name, so an
 * `openai` entry without `model` is refused here, before anything starts.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT for an `openai` entry without `model`.
 */
export function entryModel(entry: ProviderConfig, index: number): string {
  if (entry.model) return entry.model;
  switch (entry.type) {
    case 'anthropic':
      return DEFAULT_ANTHROPIC_MODEL;
    case 'scripted':
      return 'scripted';
    case 'openai':
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Provider "${entry.id}" (providers[${index}], openai) needs model: OpenAI-compatible servers have no common default model`);
    default: {
      const unreachable: never = entry;
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Unknown provider type in ${JSON.stringify(unreachable)}`);
    }
  }
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
    if (value && hasControlCharacter(value)) {
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Provider "${entry.id}" reads its API key from ${entry.apiKeyEnv}, which ${CONTROL_PROBLEM}`);
    }
    if (value) return value;
    if (required) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Provider "${entry.id}" needs its API key in the environment variable ${entry.apiKeyEnv}, which is not set`);
    return null;
  }
  if (entry.apiKey) return entry.apiKey;
  if (required) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Provider "${entry.id}" has no API key: set apiKeyEnv to the name of the variable holding it`);
  return null;
}
