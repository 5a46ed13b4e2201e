import { PalyraError } from '../../base/index.ts';
import { embeddedIpv4, type AddressClass } from './classify-address.ts';
import { cidrContains, parseCidr, type Cidr, type IpAddress } from './ip-address.ts';

/**
 * The operator's exemptions from the SSRF guard: hosts and ranges `http.fetch` may reach
 * although they are private, loopback, and so on. It only ever widens what is reachable;
 * public addresses need no entry.
 *
 * Entries: an address in any spelling (`127.0.0.1`, `::1`), a CIDR (`10.1.0.0/16`,
 * `fd12::/64`), a host name (`intranet.example`), or a wildcard (`*.corp.example`, which
 * matches sub-domains only).
 */
export interface AllowList {
  /** True when the URL host name is named by an entry (names compare case-insensitively). */
  allowsName(hostname: string): boolean;
  /** True when a refused address is exempted, by its own range or by its host name. */
  allowsAddress(ip: IpAddress, verdict: AddressClass, hostnameAllowed: boolean): boolean;
}

/** Parses allow-list entries; an entry that is neither address, CIDR nor name is an error. */
export function parseAllowList(entries: readonly string[]): AllowList {
  const ranges: Cidr[] = [];
  const names = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of entries) {
    const text = raw.trim().toLowerCase();
    const range = parseCidr(text);
    if (range) ranges.push(range);
    else if (/^\*\.[a-z0-9.-]+$/.test(text)) suffixes.push(normaliseName(text.slice(1)));
    else if (/^[a-z0-9_.-]+$/.test(text) && !text.includes('/')) names.add(normaliseName(text));
    else throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid http.fetch allow entry "${raw}": expected an address, a CIDR or a host name`);
  }
  const allowsName = (hostname: string): boolean => {
    const name = normaliseName(hostname);
    return names.has(name) || suffixes.some((s) => name.endsWith(s));
  };
  return {
    allowsName,
    allowsAddress(ip, verdict, hostnameAllowed) {
      if (verdict.type === 'public') return true;
      const candidates = [ip, ...embeddedIpv4(ip).map((e) => e.ip)];
      // Security: cloud metadata leaks credentials, so a broad entry (a CIDR, or a host
      // name that happens to resolve there) never opens it; only an entry naming exactly
      // that address does.
      if (verdict.range === 'metadata') {
        return ranges.some((r) => r.prefix === r.bytes.length * 8 && candidates.some((c) => cidrContains(r, c)));
      }
      return hostnameAllowed || ranges.some((r) => candidates.some((c) => cidrContains(r, c)));
    },
  };
}

/** Lowercases a host name and drops the root-zone dot: `Example.COM.` is `example.com`. */
export function normaliseName(hostname: string): string {
  return hostname.toLowerCase().replace(/\.+$/, '');
}
