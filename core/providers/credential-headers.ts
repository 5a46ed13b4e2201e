/**
 * Which configured request headers carry credentials. An API key does not only arrive as
 * `apiKey`: Azure OpenAI takes it as `api-key`, proxies as `x-api-key`, `authorization` or
 * `Ocp-Apim-Subscription-Key`. Every such value is a secret wherever the key is one: it is
 * scrubbed from failure messages, registered with the journal's redactor and redacted by
 * `config show`.
 */

// Why substrings, not whole names: credential headers have no fixed vocabulary, and
// treating a harmless header (`x-session-affinity`) as secret costs only a redaction.
const CREDENTIAL_NAME = /auth|key|token|secret|passw|credential|signature|cookie|session/i;

// An auth scheme before the credential: `Bearer abc`, `Basic abc`, `Token abc`.
const SCHEME = /^[A-Za-z][A-Za-z0-9_-]*\s+(\S.*)$/;

/** True when a header with this name carries a credential, e.g. `api-key`, `Authorization`. */
export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

/**
 * The secrets in `headers`: each credential header's value, and the credential alone when
 * the value starts with an auth scheme (upstreams echo the token, not `Bearer token`).
 */
export function headerSecrets(headers: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  for (const [name, raw] of Object.entries(headers)) {
    if (!isCredentialHeader(name)) continue;
    const value = raw.trim();
    if (value === '') continue;
    out.add(value);
    const credential = SCHEME.exec(value)?.[1];
    if (credential !== undefined) out.add(credential.trim());
  }
  return [...out];
}
