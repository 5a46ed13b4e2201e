/**
 * What a secret looks like inside a string: value shapes (provider keys, tokens, private
 * keys, URL credentials) and, through secret-assignments.ts, values next to a name that
 * says they are secret. Pure functions over strings; the journal redactor walks payloads
 * and calls these.
 */
import { ASSIGNMENT_HINT, redactAssignments } from './secret-assignments.ts';
import { SENSITIVE_HINTS } from './secret-keys.ts';
import { redactionMarker, type Tally } from './redaction-markers.ts';

export { isSensitiveKey } from './secret-keys.ts';
export { MARKER_PREFIX, redactionMarker, type RedactionKind, type Tally } from './redaction-markers.ts';

/** A case-insensitive regex source for a fixed word (V8 in Node 20 has no `(?i:...)`). */
function anyCase(word: string): string {
  return word.replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`);
}

/** Prefixes of provider keys that have no alternative of their own in SHAPES. */
const PROVIDER_KEYS = [
  String.raw`(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}`, // Stripe
  String.raw`whsec_[A-Za-z0-9+/=]{24,}`, // Stripe webhook signing
  String.raw`AIza[0-9A-Za-z_-]{35}`, // Google
  String.raw`glpat-[0-9A-Za-z_-]{20,}`, // GitLab
  String.raw`npm_[A-Za-z0-9]{36}`,
  String.raw`hf_[A-Za-z0-9]{30,}`, // Hugging Face
  String.raw`gsk_[A-Za-z0-9]{40,}`, // Groq
  String.raw`xai-[A-Za-z0-9]{40,}`,
  String.raw`pplx-[A-Za-z0-9]{40,}`, // Perplexity
  String.raw`r8_[A-Za-z0-9]{30,}`, // Replicate
  String.raw`SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`, // SendGrid
  String.raw`shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`, // Shopify
  String.raw`do[opr]_v1_[a-f0-9]{64}`, // DigitalOcean
  String.raw`xapp-[0-9]-[A-Za-z0-9-]{10,}`, // Slack app-level
  String.raw`AGE-SECRET-KEY-1[0-9A-Z]{50,}`, // age
];

const PRIVATE_KEY_LINE = (edge: string): string =>
  String.raw`-{4,5} ?${anyCase(edge)}[A-Za-z0-9 ]*${anyCase('PRIVATE KEY')}(?: ${anyCase('BLOCK')})? ?-{4,5}`;

// Cheap pre-tests: a superset of everything the passes below can match, so the common
// string with nothing suspicious costs one or two regex tests. Token prefixes are
// case-sensitive like the shapes themselves, and tested only on strings long enough to
// hold a token (a long alternation of literals costs ~0.1 µs per 64 characters).
const TEXT_HINTS = new RegExp(
  String.raw`b(?:earer|egin)|private(?: key|-lines)|:\/\/[^\s/?#@]*@|` + ASSIGNMENT_HINT.replaceAll('HINTS', SENSITIVE_HINTS),
  'i',
);
// Grouped by first character: V8 then tries one branch per position, not all of them
// (~40 % faster than the flat list).
const TOKEN_PREFIXES = new RegExp(
  String.raw`s(?:k[-_]|hp[acps])|A(?:[KS]IA|Iza|GE-S)|g(?:h[pousr]_|ithub_pat_|lpat-|sk_)|x(?:ox[abposr]-|ai-|app-)|` +
    String.raw`eyJ|LS0tLS1CRUdJT|r(?:k|8)_|h(?:f_|ooks\.slack)|npm_|w(?:hsec_|ebhooks)|pplx-|SG\.|_v1_`,
);
/** No token shape below is shorter (`AKIA` and 16 characters). */
const SHORTEST_TOKEN = 16;

function suspicious(text: string): boolean {
  return TEXT_HINTS.test(text) || (text.length >= SHORTEST_TOKEN && TOKEN_PREFIXES.test(text));
}

// One alternation, scanned once; at a given position the leftmost alternative wins, so
// `Bearer eyJ...` counts as one bearer, not a bearer and a JWT. Character classes exclude
// `[`, so markers never re-match.
// Security: where a token's own characters could also precede it (`-`, `.`), a lookbehind
// instead of `\b` lets each run start one match attempt, keeping the scan linear.
const SHAPES = new RegExp(
  [
    // A block cut short (capped tool output) is redacted to the end of the string. Any
    // case, and SSH2's four dashes (`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`).
    String.raw`(?<pem>${PRIVATE_KEY_LINE('BEGIN')}(?:[\s\S]*?${PRIVATE_KEY_LINE('END')}|[\s\S]*))`,
    // PuTTY's .ppk: the private half is the base64 after `Private-Lines: N`.
    String.raw`(?<putty>Private-Lines: *[0-9]+\r?\n[A-Za-z0-9+/=]+(?:\r?\n(?!Private-)[A-Za-z0-9+/=]+(?=\r?\n|$))*)`,
    // A PEM file in base64 (a Kubernetes secret's `tls.key`); the replacer checks that it is a private key.
    String.raw`(?<pem64>(?<![A-Za-z0-9+/])LS0tLS1CRUdJT[A-Za-z0-9+/]{20,}={0,2})`,
    String.raw`(?<jwt>(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{8,})`,
    String.raw`(?<bearer>\b[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+)[A-Za-z0-9._~+/=-]{8,}`,
    // After `_` too (`key_sk-…`), which \b would not see as a boundary.
    String.raw`(?<sk>(?<![A-Za-z0-9])(?:sk-[A-Za-z0-9_-]{16,}|${PROVIDER_KEYS.join('|')}))`,
    String.raw`(?<aws>\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)`,
    String.raw`(?<gh>\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}))`,
    String.raw`(?<slack>\bxox[abposr]-[A-Za-z0-9-]{10,})`,
    // Webhook URLs whose path is the credential.
    String.raw`(?<hook>\bhooks\.slack\.com\/(?:services|workflows|triggers)\/|\bdiscord(?:app)?\.com\/api\/webhooks\/)[A-Za-z0-9\/_-]{20,}`,
    // The password runs to the last `@` before the path, as URL parsers split it (it may
    // hold `@`). Linear: a scan cannot cross `/`, and every match attempt starts at `://`.
    String.raw`(?<url>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#@:]*:)(?!\[REDACTED:)[^\s/?#]+(?=@)`,
    // A token as the whole user part (`https://<token>@github.com`): long, no password.
    String.raw`(?<userScheme>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\/)[A-Za-z0-9_-]{20,}(?=@)`,
  ].join('|'),
  'g',
);

const MARK = {
  bearer: redactionMarker('bearer'),
  private_key: redactionMarker('private_key'),
  jwt: redactionMarker('jwt'),
  api_key_shape: redactionMarker('api_key_shape'),
  aws_key: redactionMarker('aws_key'),
  github_token: redactionMarker('github_token'),
  slack_token: redactionMarker('slack_token'),
  url_credentials: redactionMarker('url_credentials'),
} as const;

type Groups = Record<'pem' | 'putty' | 'pem64' | 'jwt' | 'bearer' | 'sk' | 'aws' | 'gh' | 'slack' | 'hook' | 'url' | 'userScheme', string | undefined>;

/** Whether base64 text starting `LS0tLS1CRUdJT` (`-----BEGIN`) opens a private key. */
function isBase64PrivateKey(text: string): boolean {
  const head = Buffer.from(text.slice(0, 96), 'base64').toString('latin1');
  return /PRIVATE KEY/i.test(head);
}

function redactShapes(text: string, tally: Tally): string {
  return text.replace(SHAPES, (...args: unknown[]) => {
    const match = args[0] as string;
    const g = args[args.length - 1] as Groups;
    if (g.pem64 !== undefined && !isBase64PrivateKey(g.pem64)) return match; // a certificate: public
    tally.count++;
    if (g.pem !== undefined || g.putty !== undefined || g.pem64 !== undefined) return MARK.private_key;
    if (g.jwt !== undefined) return MARK.jwt;
    if (g.bearer !== undefined) return g.bearer + MARK.bearer;
    if (g.sk !== undefined) return MARK.api_key_shape;
    if (g.aws !== undefined) return MARK.aws_key;
    if (g.gh !== undefined) return MARK.github_token;
    if (g.slack !== undefined) return MARK.slack_token;
    return (g.hook ?? g.url ?? g.userScheme ?? '') + MARK.url_credentials;
  });
}

/**
 * Replaces secret-shaped spans (bearer tokens, provider keys, JWTs, PEM private keys, URL
 * passwords, `key=value` assignments with a sensitive key) in `text`, adding one to
 * `tally.count` per span. Returns `text` itself when nothing matched.
 */
export function redactSecretShapes(text: string, tally: Tally): string {
  if (!suspicious(text)) return text;
  return redactAssignments(redactShapes(text, tally), tally);
}
