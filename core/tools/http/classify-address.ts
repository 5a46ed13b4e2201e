import { cidr, cidrContains, formatIp, parseIp, type Cidr, type IpAddress } from './ip-address.ts';

/** Why an address is refused. */
export type BlockedRange =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'metadata'
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved';

/** How an IPv4 address was carried inside an IPv6 one. */
export type Embedding = 'ipv4-mapped' | 'ipv4-compatible' | 'ipv4-translated' | 'nat64' | '6to4' | 'teredo';

/** The verdict on one address. `address` is the canonical text of the address given. */
export type AddressClass =
  | { type: 'public'; family: 4 | 6; address: string }
  | {
      type: 'blocked';
      family: 4 | 6;
      address: string;
      range: BlockedRange;
      /** The table entry that matched, e.g. `127.0.0.0/8`. */
      cidr: string;
      /** Set when the verdict came from an IPv4 address embedded in this IPv6 one. */
      embedded?: { form: Embedding; address: string };
    };

interface RangeEntry {
  text: string;
  range: Cidr;
  name: BlockedRange;
}

const entry = (text: string, name: BlockedRange): RangeEntry => ({ text, range: cidr(text), name });

/**
 * Refused IPv4 ranges, most specific first (the first match names the verdict).
 * Security: covers everything IANA lists as not globally reachable, plus cloud metadata.
 */
export const BLOCKED_IPV4: readonly RangeEntry[] = [
  entry('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OpenStack, DigitalOcean
  entry('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  entry('0.0.0.0/8', 'unspecified'), // "this network"; 0.0.0.0 reaches localhost on Linux
  entry('10.0.0.0/8', 'private'),
  entry('100.64.0.0/10', 'cgnat'),
  entry('127.0.0.0/8', 'loopback'),
  entry('169.254.0.0/16', 'link-local'),
  entry('172.16.0.0/12', 'private'),
  entry('192.0.0.0/24', 'reserved'), // IETF protocol assignments (incl. Oracle metadata 192.0.0.192)
  entry('192.0.2.0/24', 'documentation'),
  entry('192.88.99.0/24', 'reserved'), // 6to4 relay anycast, deprecated
  entry('192.168.0.0/16', 'private'),
  entry('198.18.0.0/15', 'benchmarking'),
  entry('198.51.100.0/24', 'documentation'),
  entry('203.0.113.0/24', 'documentation'),
  entry('224.0.0.0/4', 'multicast'),
  entry('255.255.255.255/32', 'broadcast'),
  entry('240.0.0.0/4', 'reserved'),
];

/**
 * Refused IPv6 ranges, most specific first. IPv6 forms that embed an IPv4 address are
 * handled before this table (see {@link classifyIp}); whatever is left outside global
 * unicast 2000::/3 is refused by the last entries.
 */
export const BLOCKED_IPV6: readonly RangeEntry[] = [
  entry('fd00:ec2::254/128', 'metadata'), // AWS IMDS over IPv6
  entry('::/128', 'unspecified'),
  entry('::1/128', 'loopback'),
  entry('64:ff9b:1::/48', 'reserved'), // local-use NAT64: translates into private networks
  entry('100::/64', 'reserved'), // discard-only
  entry('2001:2::/48', 'benchmarking'),
  entry('2001:10::/28', 'reserved'), // ORCHID, deprecated
  entry('2001:20::/28', 'reserved'), // ORCHIDv2
  entry('2001:db8::/32', 'documentation'),
  entry('3fff::/20', 'documentation'),
  entry('fc00::/7', 'unique-local'),
  entry('fe80::/10', 'link-local'),
  entry('fec0::/10', 'site-local'),
  entry('ff00::/8', 'multicast'),
  // Security: only 2000::/3 is allocated for global unicast; anything else is refused.
  entry('::/3', 'reserved'),
  entry('4000::/2', 'reserved'),
  entry('8000::/1', 'reserved'),
];

/** IPv6 prefixes whose low 32 bits carry an IPv4 address that decides the verdict. */
const EMBEDDED_LOW32: readonly { range: Cidr; form: Embedding }[] = [
  { range: cidr('::ffff:0:0/96'), form: 'ipv4-mapped' },
  { range: cidr('::ffff:0:0:0/96'), form: 'ipv4-translated' },
  { range: cidr('64:ff9b::/96'), form: 'nat64' },
  { range: cidr('::/96'), form: 'ipv4-compatible' },
];
const SIX_TO_FOUR = cidr('2002::/16');
const TEREDO = cidr('2001::/32');

/** Classifies any spelling of an address; null when the text is not an IP address. */
export function classifyAddress(text: string): AddressClass | null {
  const ip = parseIp(text);
  return ip ? classifyIp(ip) : null;
}

/** Classifies a parsed address, looking through every IPv6 form that embeds IPv4. */
export function classifyIp(ip: IpAddress): AddressClass {
  const address = formatIp(ip);
  if (ip.family === 4) return matchTable(ip, address, BLOCKED_IPV4);
  // `::` and `::1` sit inside ::/96 but are IPv6's own unspecified and loopback.
  const direct = matchTable(ip, address, BLOCKED_IPV6.slice(0, 3));
  if (direct.type === 'blocked') return direct;
  for (const embedded of embeddedIpv4(ip)) {
    const inner = classifyIp(embedded.ip);
    if (inner.type === 'blocked') {
      const { range, cidr: text } = inner;
      return { type: 'blocked', family: 6, address, range, cidr: text, embedded: { form: embedded.form, address: inner.address } };
    }
  }
  // Security: an embedding form with a public IPv4 inside is judged by that IPv4 address.
  if (embeddedIpv4(ip).length > 0) return { type: 'public', family: 6, address };
  return matchTable(ip, address, BLOCKED_IPV6);
}

/** The IPv4 addresses an IPv6 address carries (6to4 and Teredo may carry two). */
export function embeddedIpv4(ip: IpAddress): { form: Embedding; ip: IpAddress }[] {
  if (ip.family !== 6) return [];
  const v4 = (from: number, xor = 0): IpAddress => ({
    family: 4,
    bytes: ip.bytes.slice(from, from + 4).map((b) => b ^ xor),
  });
  const low = EMBEDDED_LOW32.find((e) => cidrContains(e.range, ip));
  if (low) return [{ form: low.form, ip: v4(12) }];
  if (cidrContains(SIX_TO_FOUR, ip)) return [{ form: '6to4', ip: v4(2) }];
  // Teredo: server address in bits 32-63, client address inverted in the low 32 bits.
  if (cidrContains(TEREDO, ip)) return [{ form: 'teredo', ip: v4(12, 0xff) }, { form: 'teredo', ip: v4(4) }];
  return [];
}

function matchTable(ip: IpAddress, address: string, table: readonly RangeEntry[]): AddressClass {
  const hit = table.find((e) => cidrContains(e.range, ip));
  if (!hit) return { type: 'public', family: ip.family, address };
  return { type: 'blocked', family: ip.family, address, range: hit.name, cidr: hit.text };
}
