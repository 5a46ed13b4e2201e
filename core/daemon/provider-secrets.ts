import { headerSecrets } from '../providers/index.ts';
import type { ProviderConfig } from './config-schema.ts';

/**
 * The provider credentials a configuration leads to, for the journal's redactor and for
 * `config show`: keys written in the file, the values of the variables `apiKeyEnv` names
 * (whose names need not look secret, e.g. MY_LLM), and the values of credential headers
 * (`api-key`, `Authorization`, …; see `isCredentialHeader`). One list, so every place
 * that treats the key as a secret treats the headers the same way.
 */
export function providerSecrets(providers: readonly ProviderConfig[], env: NodeJS.ProcessEnv): string[] {
  const out = new Set<string>();
  for (const p of providers) {
    if (p.type === 'scripted') continue;
    if (p.apiKey) out.add(p.apiKey);
    const fromEnv = p.apiKeyEnv ? env[p.apiKeyEnv] : undefined;
    if (fromEnv) out.add(fromEnv);
    for (const secret of headerSecrets(p.headers)) out.add(secret);
  }
  return [...out];
}

/**
 * The provider secrets for a journal's redactor. Security: the redactor refuses secrets
 * shorter than it can match safely (8 characters); such a key is still scrubbed from the
 * providers' own failure messages and redacted by `config show`.
 */
export function journalProviderSecrets(providers: readonly ProviderConfig[], env: NodeJS.ProcessEnv): string[] {
  return providerSecrets(providers, env).filter((s) => s.length >= 8);
}
