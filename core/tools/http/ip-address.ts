/**
 * IP address parsing for the SSRF guard: every spelling a URL, a resolver or an operator
 * can produce, reduced to bytes so that classification never depends on text.
 *
 * Security: an SSRF guard that compares strings loses to `0x7f000001`, `0177.0.0.1`,
 * `127.1` or `::ffff:7f00:1`. Everything here turns text into 4 or 16 bytes first; the
 * classifier and the allow list only ever look at bytes.
 */

/** A parsed address: 4 bytes for IPv4, 16 for IPv6. */
export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

/**
 * Parses an IPv4 address the way the WHATWG URL host parser (and `inet_aton`) does:
 * one to four parts, each decimal, octal (leading `0`) or hex (`0x`), the last part
 * filling the remaining bytes (`127.1`, `2130706433`, `0x7f.0.0.1`), an optional trailing
 * dot. Returns null when the text is not an IPv4 address in any of those spellings.
 */
export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  // Invariant (WHATWG): one trailing empty part ("127.0.0.1.") is ignored.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIpv4Part(part);
    if (n === null) return null;
    numbers.push(n);
  }
  const last = numbers.pop() as number;
  if (numbers.some((n) => n > 255)) return null;
  if (last >= 256 ** (4 - numbers.length)) return null;
  let value = last;
  numbers.forEach((n, i) => {
    value += n * 256 ** (3 - i);
  });
  return new Uint8Array([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
}

function parseIpv4Part(part: string): number | null {
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    // WHATWG: a bare "0x" is zero.
    if (digits === '') return 0;
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1);
    radix = 8;
  }
  const pattern = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!pattern.test(digits)) return null;
  const n = parseInt(digits, radix);
  // Security: parts beyond 2^32 are rejected, never wrapped around.
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : null;
}

/**
 * Parses an IPv6 address: full, compressed (`::`), with an embedded dotted IPv4 tail
 * (`::ffff:127.0.0.1`), in brackets (`[::1]`) and with a zone id (`fe80::1%eth0`, also
 * URL-escaped as `%25eth0`). The zone is dropped: it names an interface, not an address.
 */
export function parseIpv6(text: string): Uint8Array | null {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (s === '' || !s.includes(':')) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  // Invariant: "::" stands for at least one zero group; without it there must be eight.
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 255;
  });
  return bytes;
}

/** Parses colon-separated hex groups; the last may be dotted IPv4 when `allowV4Tail`. */
function parseGroups(text: string, allowV4Tail: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && allowV4Tail && part.includes('.')) {
      // Only strict dotted decimal is valid inside IPv6 (RFC 4291), never 127.1 or hex.
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(part)) return null;
      const v4 = part.split('.').map(Number);
      if (v4.some((n) => n > 255)) return null;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else {
      if (!/^[0-9a-f]{1,4}$/i.test(part)) return null;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}

/** Parses any IPv4 or IPv6 spelling (see {@link parseIpv4}, {@link parseIpv6}); null for names. */
export function parseIp(text: string): IpAddress | null {
  const v6 = parseIpv6(text);
  if (v6) return { family: 6, bytes: v6 };
  const v4 = parseIpv4(text);
  return v4 ? { family: 4, bytes: v4 } : null;
}

/** Canonical text of an address: dotted quad, or RFC 5952 compressed lowercase IPv6. */
export function formatIp(ip: IpAddress): string {
  const b = ip.bytes;
  if (ip.family === 4) return Array.from(b).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0));
  // RFC 5952: compress the longest run (of two or more) of zero groups, the first one on ties.
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at === -1) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** An address range: a network address and a prefix length, in bytes. */
export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

/**
 * Parses `addr/prefix` or a single address (a /32 or /128). The address may use any
 * spelling {@link parseIp} accepts; bits past the prefix are ignored. Null when invalid.
 */
export function parseCidr(text: string): Cidr | null {
  const slash = text.lastIndexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  if (slash === -1) return { ...ip, prefix: max };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= max ? { ...ip, prefix } : null;
}

/** True when `ip` lies inside `range` (same family only: mapped forms are the caller's job). */
export function cidrContains(range: Cidr, ip: IpAddress): boolean {
  if (range.family !== ip.family) return false;
  const full = Math.floor(range.prefix / 8);
  for (let i = 0; i < full; i++) {
    if (range.bytes[i] !== ip.bytes[i]) return false;
  }
  const rest = range.prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((range.bytes[full] ?? 0) & mask) === ((ip.bytes[full] ?? 0) & mask);
}

/** Parses a CIDR known to be valid at build time (the built-in range tables). */
export function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`Invalid built-in CIDR "${text}"`);
  return parsed;
}
