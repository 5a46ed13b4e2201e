import { lookup as dnsLookup } from 'node:dns/promises';
import { PalyraError } from '../../base/index.ts';
import { normaliseName, parseAllowList } from './allow-list.ts';
import { classifyIp, type AddressClass } from './classify-address.ts';
import { formatIp, parseIp, type IpAddress } from './ip-address.ts';

/** Resolves a host name to its addresses; injectable so tests never touch real DNS. */
export type HostResolver = (hostname: string) => Promise<readonly { address: string; family?: number }[]>;

/** A URL whose host passed the guard, and the one address the connection must use. */
export interface PinnedTarget {
  url: URL;
  /** The URL host without brackets, as sent in `Host` and used for TLS SNI. */
  hostname: string;
  /** Canonical text of the checked address the connection is pinned to. */
  address: string;
  family: 4 | 6;
}

/** Checks URLs before a request and sockets after they connect. */
export interface TargetGuard {
  /** Refuses (PALYRA_TOOL_FORBIDDEN) a URL the tool must not reach; else resolves and pins it. */
  check(url: URL): Promise<PinnedTarget>;
  /** Refuses a socket whose peer is not the pinned address. */
  checkConnected(target: PinnedTarget, remoteAddress: string | undefined): void;
}

/** Options of {@link createTargetGuard}. */
export interface TargetGuardOptions {
  /** Operator exemptions; see `parseAllowList`. */
  allow?: readonly string[];
  /** Resolver (default: the system's, `dns.lookup` with all addresses). */
  lookup?: HostResolver;
}

// Security: names that reach cloud metadata services from inside a VM. Refused by name
// too, since a resolver may answer them from /etc/hosts or a search domain; no allow
// entry reopens them (an operator who must can allow the exact metadata address).
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

const systemLookup: HostResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const forbidden = (message: string, details: Record<string, unknown>): PalyraError =>
  new PalyraError('PALYRA_TOOL_FORBIDDEN', message, { details });

/** Builds the SSRF guard `http.fetch` runs on every hop. */
export function createTargetGuard(options: TargetGuardOptions = {}): TargetGuard {
  const allow = parseAllowList(options.allow ?? []);
  const resolve = options.lookup ?? systemLookup;

  const refuseUnlessAllowed = (ip: IpAddress, host: string, nameAllowed: boolean): AddressClass => {
    const verdict = classifyIp(ip);
    if (verdict.type === 'blocked' && !allow.allowsAddress(ip, verdict, nameAllowed)) {
      const via = verdict.embedded ? ` via ${verdict.embedded.form} ${verdict.embedded.address}` : '';
      const what = host === verdict.address ? `Address "${host}"` : `Host "${host}" resolves to ${verdict.address}, which`;
      throw forbidden(`${what} is ${verdict.range} (${verdict.cidr}${via}): not reachable unless the operator allows it`, {
        host,
        address: verdict.address,
        range: verdict.range,
      });
    }
    return verdict;
  };

  return {
    async check(url) {
      // Security: only http(s); file:, ftp:, data:, gopher: and friends reach other things.
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw forbidden(`URL scheme "${url.protocol.replace(/:$/, '')}" is not allowed: only http and https`, { url: url.href });
      }
      // Security: credentials in URLs leak into logs and confuse parsers (`http://a@b`).
      if (url.username !== '' || url.password !== '') {
        throw forbidden(`URL "${url.host}" carries user info: credentials in URLs are not allowed`, { host: url.host });
      }
      const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      const nameAllowed = allow.allowsName(hostname);
      // Security: our own parser runs on the host even though URL normalised it already,
      // so an engine that leaves `0x7f000001` as a name still gets it classified as IPv4.
      const literal = parseIp(hostname);
      if (literal) {
        refuseUnlessAllowed(literal, hostname, nameAllowed);
        return { url, hostname, address: formatIp(literal), family: literal.family };
      }
      const name = normaliseName(hostname);
      if (METADATA_NAMES.has(name)) throw forbidden(`Host "${name}" is a cloud metadata service: not reachable`, { host: name, range: 'metadata' });
      if ((name === 'localhost' || name.endsWith('.localhost')) && !nameAllowed) {
        throw forbidden(`Host "${name}" is loopback (RFC 6761): not reachable unless the operator allows it`, { host: name, range: 'loopback' });
      }
      const addresses = await resolveAll(resolve, hostname);
      // Security: every address is checked, not just the first, so a public+private pair
      // is refused; the connection is then pinned to the first, checked one.
      for (const ip of addresses) refuseUnlessAllowed(ip, hostname, nameAllowed);
      const first = addresses[0] as IpAddress;
      return { url, hostname, address: formatIp(first), family: first.family };
    },

    checkConnected(target, remoteAddress) {
      // Security: the last word on where the bytes went is the socket's peer address.
      const peer = remoteAddress === undefined ? null : parseIp(remoteAddress);
      const pinned = parseIp(target.address);
      if (peer && pinned && !sameAddress(peer, pinned)) {
        throw forbidden(`Connected to "${remoteAddress}" instead of the checked address "${target.address}"`, {
          host: target.hostname,
          address: remoteAddress,
        });
      }
    },
  };
}

async function resolveAll(resolve: HostResolver, hostname: string): Promise<IpAddress[]> {
  let answers: readonly { address: string }[];
  try {
    answers = await resolve(hostname);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
    throw new PalyraError('PALYRA_TOOL_FAILED', `Cannot resolve host "${hostname}": ${code}`, { cause, details: { host: hostname } });
  }
  if (answers.length === 0) throw new PalyraError('PALYRA_TOOL_FAILED', `Cannot resolve host "${hostname}": no addresses`);
  return answers.map(({ address }) => {
    const ip = parseIp(address);
    if (!ip) throw forbidden(`Host "${hostname}" resolves to "${address}", which is not an IP address`, { host: hostname });
    return ip;
  });
}

/** Same address, also when one side is the IPv4-mapped IPv6 form of the other. */
function sameAddress(a: IpAddress, b: IpAddress): boolean {
  const v4 = (ip: IpAddress): Uint8Array =>
    ip.family === 6 && ip.bytes.slice(0, 12).every((x, i) => x === (i >= 10 ? 0xff : 0)) ? ip.bytes.slice(12) : ip.bytes;
  const x = v4(a);
  const y = v4(b);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}
