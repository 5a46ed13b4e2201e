import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from './config-defaults.ts';
import type { ProviderConfig } from './config-schema.ts';
import { providerSecrets } from './provider-secrets.ts';

const base = defaultConfig('/state').providers[0] as ProviderConfig;
const TIMEOUTS = { connectMs: 1, firstByteMs: 1, idleMs: 1 };

test('provider secrets are the keys, the apiKeyEnv values and the credential headers, scripted entries aside', () => {
  const providers: ProviderConfig[] = [
    { ...base, type: 'scripted', id: 's', script: null },
    {
      type: 'openai', id: 'azure', model: 'gpt', baseUrl: 'https://x.example/openai', apiKeyEnv: null, apiKey: 'sk-file-key-12345',
      headers: { 'api-key': 'azure-key-0123456789', 'Ocp-Apim-Subscription-Key': 'sub-key-abcdef', Authorization: 'Bearer proxy-token-xyz', 'X-Org': 'acme' },
      stream: true, timeouts: TIMEOUTS, maxConcurrency: 1, retries: 0,
    },
    { type: 'anthropic', id: 'claude', model: null, baseUrl: 'https://a.example', apiKeyEnv: 'MY_LLM', apiKey: null, version: 'v', headers: {}, stream: true, timeouts: TIMEOUTS, maxConcurrency: 1, retries: 0 },
  ];
  assert.deepEqual(providerSecrets(providers, { MY_LLM: 'env-key-abcdefgh' }), [
    'sk-file-key-12345',
    'azure-key-0123456789',
    'sub-key-abcdef',
    'Bearer proxy-token-xyz',
    'proxy-token-xyz',
    'env-key-abcdefgh',
  ]);
});
