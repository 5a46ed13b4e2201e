/**
 * The effective config as people see it: flattened to `key.path = value` lines with the
 * source of each, after every secret is redacted.
 */
import type { JsonValue } from '../base/index.ts';
import { isSensitiveKey, Redactor, redactionMarker, secretsFromEnvironment } from '../journal/index.ts';
import { isCredentialHeader } from '../providers/index.ts';
import type { PalyraConfig } from './config-schema.ts';
import { providerSecrets } from './provider-secrets.ts';

/** Where a value came from, lowest precedence first. */
export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

/**
 * Leaves of a config value as [path, value] pairs in key order, paths spelled as in
 * messages (`providers[0].timeouts.idleMs`). Arrays of scalars, empty tables and nulls
 * are leaves; tables and arrays of tables are walked.
 */
export function flattenConfig(value: unknown, prefix = ''): Array<[string, unknown]> {
  if (Array.isArray(value)) {
    if (value.length === 0 || !value.every((v) => isTable(v))) return [[prefix, value]];
    return value.flatMap((v, i) => flattenConfig(v, `${prefix}[${i}]`));
  }
  if (isTable(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([k, v]) => flattenConfig(v, prefix === '' ? k : `${prefix}.${k}`));
  }
  return [[prefix, value]];
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A copy of `config` with every secret replaced by a redaction marker: `apiKey` values and
 * credential headers (`api-key`, `Authorization`, … whatever `isCredentialHeader` says)
 * always, then whatever the journal's redactor removes (sensitive key names, secret-shaped
 * values, and every secret this process knows: `env`'s secret variables, the providers'
 * keys and header credentials, and the variables `apiKeyEnv` names).
 *
 * `apiKeyEnv` holds the *name* of a variable, never a secret; it is kept, although its
 * key name would make the redactor remove it, because it tells the operator where the key
 * is read from.
 */
export function redactConfig(config: PalyraConfig, env: NodeJS.ProcessEnv): PalyraConfig {
  const known = new Set([...secretsFromEnvironment(env), ...providerSecrets(config.providers, env)]);
  // The two key fields are set aside and put back after the redactor ran: its key-name rule
  // would blank an unset apiKey (null) and the apiKeyEnv name alike.
  const keyFields: Array<{ apiKeyEnv: string | null; apiKey: string | null } | null> = [];
  const copy = structuredClone(config);
  for (const provider of copy.providers) {
    if (provider.type === 'scripted') {
      keyFields.push(null);
      continue;
    }
    for (const name of Object.keys(provider.headers)) {
      if (isCredentialHeader(name)) provider.headers[name] = redactionMarker('key');
    }
    keyFields.push({ apiKeyEnv: provider.apiKeyEnv, apiKey: provider.apiKey === null ? null : redactionMarker('key') });
    provider.apiKeyEnv = null;
    provider.apiKey = null;
  }
  // Security: secrets too short for the redactor (< 8 characters) are still removed from
  // the apiKey field and the credential headers above; they are only not searched for
  // elsewhere.
  const redactor = new Redactor({ knownSecrets: [...known].filter((s) => s.length >= 8) });
  const redacted = redactor.redact(copy as unknown as JsonValue).value as unknown as PalyraConfig;
  redacted.providers.forEach((provider, i) => {
    const fields = keyFields[i];
    if (provider.type === 'scripted' || !fields) return;
    Object.assign(provider, fields);
    provider.baseUrl = redactUrl(provider.baseUrl);
  });
  return redacted;
}

// Words that make a query parameter's name a credential's, beyond the journal redactor's
// key names: `?key=`, `?sig=`, `&x-goog-api-key=`.
// Showing the configuration errs further towards redacting than the journal does.
const CREDENTIAL_WORDS = new Set(['key', 'apikey', 'token', 'secret', 'auth', 'authorization', 'password', 'passwd', 'credential', 'credentials', 'signature', 'sig', 'cookie', 'session', 'jwt', 'bearer']);

function credentialNamed(name: string): boolean {
  if (isSensitiveKey(name)) return true;
  return name.toLowerCase().split(/[^a-z0-9]+/).some((word) => CREDENTIAL_WORDS.has(word));
}

/**
 * The URL with credential-named query parameters' values and its userinfo redacted: the
 * password, or a lone user name (often a token: `https://<token>@host`); otherwise as written.
 */
function redactUrl(url: string): string {
  const marker = redactionMarker('key');
  return redactUserinfo(url, marker)
    .replace(/([?&;])([^=&;#]+)=([^&;#]*)/g, (whole, separator: string, name: string) => (credentialNamed(safeDecode(name)) ? `${separator}${name}=${marker}` : whole));
}

/**
 * Security: WHATWG URL parsing ends the userinfo at the authority's last `@`, so a
 * password may hold `@` (`https://u:p@ss@host`). This takes everything up to the last `@`
 * before the first `/`, `?` or `#`: never less than a parser's userinfo (it may take more
 * where a special scheme also ends the authority at `\`), and the URL stays as written.
 */
function redactUserinfo(url: string, marker: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i.exec(url);
  if (match === null) return url;
  const [whole, scheme = '', userinfo = ''] = match;
  const colon = userinfo.indexOf(':');
  return `${scheme}${colon === -1 ? marker : `${userinfo.slice(0, colon)}:${marker}`}@${url.slice(whole.length)}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Formats one leaf value the way TOML would spell it (null: `none`). */
export function formatValue(value: unknown): string {
  if (value === null) return 'none';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (isTable(value)) return '{}';
  return String(value);
}
