/**
 * The host of a URL as policies judge it (`context.args.host`): WHATWG-normalized
 * (lowercase, IDNA, IPv4 spellings such as 0x7f000001 → 127.0.0.1), without trailing dots.
 * Security: "EVIL.example." and "evil.example%2e" name the same host as "evil.example" and
 * must not slip past a forbid on it; `http.fetch` compares redirect hops by this form too.
 */
export function hostForm(url: URL): string {
  return url.hostname.toLowerCase().replace(/\.+$/, '');
}
