/**
 * Which key names hold secrets: keys are split into whole words, so `api_key`, `APIKey`
 * and `x-api-key` are sensitive while `prompt_tokens`, `tokenizer` and `secretary` are
 * not. Used for object keys, `key=value` text, command-line flags and name/value pairs.
 */

const SENSITIVE_WORDS = new Set([
  'password', 'passwords', 'passwd', 'passphrase', 'passphrases', 'pwd', 'pw', 'pass', 'passcode', 'passcodes',
  'passkey', 'passkeys', 'secret', 'secrets', 'token', 'authorization', 'auth', 'cookie', 'cookies',
  'credential', 'credentials', 'pin', 'pincode', 'signature', 'signatures', 'sig', 'otp', 'mnemonic', 'dsn',
  'privatekey', 'apikey', 'accesskey', 'sessionid',
]);
/** Qualifiers that make the word after them (`key`, `keys`) a secret: `ssh_key`, `AccountKey`. */
const KEY_QUALIFIERS = [
  'api', 'private', 'priv', 'access', 'secret', 'signing', 'encryption', 'account', 'ssh', 'master', 'hmac',
  'client', 'subscription', 'auth', 'tls', 'license', 'deploy', 'storage', 'shared',
];
const SENSITIVE_PAIRS = new Set([
  'client secret', 'session id', 'set cookie', 'auth token', 'pass word', 'seed phrase', 'recovery phrase',
  // Plurals: a list of keys is as secret as one. `tokens` alone is not (`prompt_tokens`).
  'client secrets', 'session ids', 'auth tokens', 'access tokens', 'refresh tokens', 'bearer tokens', 'api tokens', 'id tokens',
  ...KEY_QUALIFIERS.flatMap((q) => [`${q} key`, `${q} keys`]),
]);
// Written-together forms of every pair (`clientsecret`, `authtoken`, `sshkey`) are as
// sensitive as the ones the list names explicitly (`apikey`, `sessionid`).
for (const pair of SENSITIVE_PAIRS) SENSITIVE_WORDS.add(pair.replace(' ', ''));
/** Words that end in these are passwords too: `PGPASSWORD`, `dbpasswd`, `MYSQLPWD`. */
const SENSITIVE_ENDINGS = ['password', 'passwd', 'pwd'];
/**
 * `token` followed by one of these is a figure about tokens, not a token: usage counts
 * (`promptTokenCount`, `token_count`) and limits are data a run needs to keep.
 */
const TOKEN_FIGURES = new Set(['count', 'counts', 'limit', 'limits', 'usage', 'budget']);

// Acronym runs (`API` in `APIKey`), capitalised or lower words, digit runs; anything else
// separates words.
const WORD = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;
// Marker text inside a key is not a word of the key: `[REDACTED:api_key_shape]` as a key
// must not make its value sensitive on a second pass.
const MARKER_TEXT = /\[REDACTED:[a-z_]+\]/g;
const KEY_CACHE_LIMIT = 10_000;
// Security: keys are caller data; only short ones are cached so the cache stays small in
// bytes, not just in entries.
const CACHEABLE_KEY_LENGTH = 256;
const keyCache = new Map<string, boolean>();

function hasSensitiveWord(key: string): boolean {
  const words = key.replace(MARKER_TEXT, ' ').match(WORD);
  if (words === null) return false;
  let previous = '';
  for (let i = 0; i < words.length; i++) {
    const word = (words[i] as string).toLowerCase();
    if (word === 'token' && i + 1 < words.length && TOKEN_FIGURES.has((words[i + 1] as string).toLowerCase())) {
      previous = word;
      continue;
    }
    if (SENSITIVE_WORDS.has(word) || SENSITIVE_PAIRS.has(`${previous} ${word}`)) return true;
    if (SENSITIVE_ENDINGS.some((ending) => word.endsWith(ending))) return true;
    previous = word;
  }
  return false;
}

/**
 * Whether a value stored under `key` is a secret. Keys are split into whole words (on
 * non-alphanumerics and camelCase / acronym boundaries), so `api_key`, `APIKey` and
 * `x-api-key` are sensitive while `prompt_tokens`, `tokenizer` and `secretary` are not.
 */
export function isSensitiveKey(key: string): boolean {
  const cached = keyCache.get(key);
  if (cached !== undefined) return cached;
  const sensitive = hasSensitiveWord(key);
  if (key.length <= CACHEABLE_KEY_LENGTH) {
    if (keyCache.size >= KEY_CACHE_LIMIT) {
      // Maps iterate in insertion order: this evicts the oldest entry.
      const oldest = keyCache.keys().next().value;
      if (oldest !== undefined) keyCache.delete(oldest);
    }
    keyCache.set(key, sensitive);
  }
  return sensitive;
}

/**
 * The hint words of the sensitive keys, for cheap pre-tests over text (case-insensitive
 * substrings: every sensitive key contains one of them).
 */
export const SENSITIVE_HINTS = 'pass|pw|pin|secret|token|auth|cookie|credential|signature|sig|key|session|otp|mnemonic|dsn|phrase';
