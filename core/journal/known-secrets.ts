import { isSensitiveKey } from './redact.ts';

/**
 * The shell's working directories: `pwd` is a sensitive word (`DB_PWD`), but these hold
 * the current directory, and taking it for a secret erased every path under it. Likewise
 * the ssh agent's socket path (`auth` is a sensitive word).
 */
const NOT_SECRET_VARIABLES = new Set(['PWD', 'OLDPWD', 'SSH_AUTH_SOCK']);

/** Secrets shorter than this are ignored: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 8;

/**
 * Values of environment variables whose names say they hold secrets (OPENAI_API_KEY,
 * PALYRA_ADMIN_TOKEN, DB_PASSWORD, ...). The process knows them, so the redactor must
 * remove them wherever they would otherwise be written.
 */
export function secretsFromEnvironment(env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (NOT_SECRET_VARIABLES.has(name)) continue;
    if (value && value.length >= MIN_SECRET_LENGTH && isSensitiveKey(name)) secrets.push(value);
  }
  return secrets;
}
