import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { loadConfig } from './config.ts';
import { unknownEnvWarnings } from './config-unknown-env.ts';

test('PALYRA_* variables palyrad does not read are named, with the nearest known name', () => {
  const { config } = loadConfig({ stateDir: tempDir(), env: {} });
  const env = { PALYRA_PROT: '8080', PALYRA_PORT: '1', PALYRA_STATE_DIR: '/s', PALYRA_DEBUG: '1', PALYRA_WORKER_TOKEN: 't', PALYRA_ZZZ_SECRET_VALUE: 'sk-hidden', HOME: '/root' };
  assert.deepEqual(unknownEnvWarnings(env, config), [
    'PALYRA_PROT is not a palyrad variable and is ignored (did you mean PALYRA_PORT?)',
    'PALYRA_ZZZ_SECRET_VALUE is not a palyrad variable and is ignored',
  ]);
});

test('a variable a provider reads its key from is known', () => {
  const { config } = loadConfig({ stateDir: tempDir(), env: {} });
  const providers = [{ ...config.providers[0], type: 'openai', apiKeyEnv: 'PALYRA_OPENAI_KEY' }] as unknown as typeof config.providers;
  assert.deepEqual(unknownEnvWarnings({ PALYRA_OPENAI_KEY: 'k' }, { providers }), []);
});
