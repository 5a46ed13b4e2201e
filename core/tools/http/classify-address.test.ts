import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyAddress, type AddressClass } from './classify-address.ts';

/** What a row expects: `public`, a range name, or a range reached through an embedding. */
type Expect = 'public' | `${string}` | null;

/** Projects a verdict to the row format: "range" or "range via form". */
function summary(verdict: AddressClass | null): string | null {
  if (verdict === null) return null;
  if (verdict.type === 'public') return 'public';
  return verdict.embedded ? `${verdict.range} via ${verdict.embedded.form}` : verdict.range;
}

const IPV4: readonly [string, Expect][] = [
  ['127.0.0.1', 'loopback'],
  ['127.1', 'loopback'],
  ['127.0.1', 'loopback'],
  ['127.0.0.1.', 'loopback'],
  ['2130706433', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['0X7F000001', 'loopback'],
  ['017700000001', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['0177.1', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['0x7f.0x0.0x0.0x1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['0', 'unspecified'],
  ['0x', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['012.0.0.1', 'private'],
  ['167772161', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['0xc0a80101', 'private'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['169.254.169.254', 'metadata'],
  ['0xa9fea9fe', 'metadata'],
  ['2852039166', 'metadata'],
  ['0251.0376.0251.0376', 'metadata'],
  ['169.254.43518', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['169.254.1.1', 'link-local'],
  ['192.0.0.192', 'reserved'],
  ['192.88.99.1', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['4294967295', 'broadcast'],
  ['0xffffffff', 'broadcast'],
  // Neighbours of every range, and public addresses in odd spellings.
  ['8.8.8.8', 'public'],
  ['134744072', 'public'],
  ['0x08080808', 'public'],
  ['010.010.010.010', 'public'],
  ['1.1.1.1', 'public'],
  ['11.0.0.0', 'public'],
  ['9.255.255.255', 'public'],
  ['126.255.255.255', 'public'],
  ['128.0.0.0', 'public'],
  ['172.15.255.255', 'public'],
  ['172.32.0.0', 'public'],
  ['100.63.255.255', 'public'],
  ['100.128.0.0', 'public'],
  ['169.253.255.255', 'public'],
  ['169.255.0.0', 'public'],
  ['192.167.255.255', 'public'],
  ['192.169.0.0', 'public'],
  ['192.0.1.1', 'public'],
  ['192.0.3.1', 'public'],
  ['198.17.255.255', 'public'],
  ['198.20.0.0', 'public'],
  ['223.255.255.255', 'public'],
  // Not addresses at all: names to resolve (or URL errors).
  ['example.com', null],
  ['localhost', null],
  ['1.2.3.foo', null],
  ['1.2.3.4.5', null],
  ['256.1.1.1', null],
  ['1.256.1.1', null],
  ['4294967296', null],
  ['09.1.1.1', null],
  ['0x1g', null],
  ['1.2.3.4:80', null],
  ['', null],
];

const IPV6: readonly [string, Expect][] = [
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['[0:0:0:0:0:0:0:1]', 'loopback'],
  ['0000:0000:0000:0000:0000:0000:0000:0001', 'loopback'],
  ['0::1', 'loopback'],
  ['::0:1', 'loopback'],
  ['::1%lo', 'loopback'],
  ['::', 'unspecified'],
  ['[::]', 'unspecified'],
  ['0:0:0:0:0:0:0:0', 'unspecified'],
  ['::ffff:127.0.0.1', 'loopback via ipv4-mapped'],
  ['[::ffff:127.0.0.1]', 'loopback via ipv4-mapped'],
  ['::FFFF:127.0.0.1', 'loopback via ipv4-mapped'],
  ['::ffff:7f00:1', 'loopback via ipv4-mapped'],
  ['0:0:0:0:0:ffff:7f00:1', 'loopback via ipv4-mapped'],
  ['0:0:0:0:0:ffff:127.0.0.1', 'loopback via ipv4-mapped'],
  ['::ffff:169.254.169.254', 'metadata via ipv4-mapped'],
  ['::ffff:a9fe:a9fe', 'metadata via ipv4-mapped'],
  ['::ffff:10.0.0.1', 'private via ipv4-mapped'],
  ['::ffff:0.0.0.0', 'unspecified via ipv4-mapped'],
  ['::127.0.0.1', 'loopback via ipv4-compatible'],
  ['::7f00:1', 'loopback via ipv4-compatible'],
  ['::2', 'unspecified via ipv4-compatible'],
  ['::ffff:0:127.0.0.1', 'loopback via ipv4-translated'],
  ['64:ff9b::127.0.0.1', 'loopback via nat64'],
  ['64:ff9b::a9fe:a9fe', 'metadata via nat64'],
  ['64:ff9b::10.1.2.3', 'private via nat64'],
  ['64:ff9b:1::1', 'reserved'],
  ['2002:7f00:1::', 'loopback via 6to4'],
  ['2002:a9fe:a9fe::1', 'metadata via 6to4'],
  ['2002:c0a8:0101::1', 'private via 6to4'],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback via teredo'],
  ['2001:0:a00:1::f7f7:f7f7', 'private via teredo'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fe80::1%25eth0', 'link-local'],
  ['[fe80::1%25eth0]', 'link-local'],
  ['FE80::ABCD', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456::1', 'unique-local'],
  ['fd00:ec2::254', 'metadata'],
  ['[fd00:ec2:0:0:0:0:0:254]', 'metadata'],
  ['fd00:0ec2::0254', 'metadata'],
  ['fec0::1', 'site-local'],
  ['ff02::1', 'multicast'],
  ['ff05::1:3', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001:2::1', 'benchmarking'],
  ['100::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['1::', 'reserved'],
  ['4000::1', 'reserved'],
  ['fe7f::1', 'reserved'],
  // Public: global unicast, and embedding forms that carry a public IPv4 address.
  ['2606:4700:4700::1111', 'public'],
  ['2001:4860:4860::8888', 'public'],
  ['[2a00:1450:4001:82a::200e]', 'public'],
  ['2001:db9::1', 'public'],
  ['2001:3::1', 'public'],
  ['::ffff:8.8.8.8', 'public'],
  ['::ffff:808:808', 'public'],
  ['64:ff9b::8.8.8.8', 'public'],
  ['2002:808:808::1', 'public'],
  ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'public'],
  // Not addresses.
  ['::1::1', null],
  [':::', null],
  ['12345::', null],
  ['1:2:3:4:5:6:7:8:9', null],
  ['1:2:3:4:5:6:7', null],
  ['1:2:3:4:5:6:7:8::', null],
  ['[::1', null],
  ['::ffff:127.1', null],
  ['::ffff:0x7f000001', null],
  ['::ffff:1.2.3.4:5', null],
  ['1.2.3.4::', null],
  ['g::1', null],
];

for (const [family, rows] of [['IPv4', IPV4], ['IPv6', IPV6]] as const) {
  test(`classifyAddress: ${family} spellings`, () => {
    const actual = rows.map(([text]) => [text, summary(classifyAddress(text))]);
    assert.deepEqual(actual, rows);
  });
}

test('classifyAddress: the verdict names the canonical address, the range and the embedded address', () => {
  assert.deepEqual(classifyAddress('0x7f000001'), {
    type: 'blocked', family: 4, address: '127.0.0.1', range: 'loopback', cidr: '127.0.0.0/8',
  });
  assert.deepEqual(classifyAddress('[0:0:0:0:0:FFFF:7F00:0001]'), {
    type: 'blocked', family: 6, address: '::ffff:7f00:1', range: 'loopback', cidr: '127.0.0.0/8',
    embedded: { form: 'ipv4-mapped', address: '127.0.0.1' },
  });
  assert.deepEqual(classifyAddress('2001:4860:4860:0:0:0:0:8888'), { type: 'public', family: 6, address: '2001:4860:4860::8888' });
});

test('classifyAddress: agrees with what Node URL makes of each spelling in a host', () => {
  const hosts = ['127.1', '0x7f000001', '2130706433', '0177.0.0.1', '0x7f.1', '169.254.43518', '[::ffff:127.0.0.1]', '[0:0:0:0:0:0:0:1]', '[fd00:ec2::254]', '8.8.8.8', '[64:ff9b::8.8.8.8]'];
  const viaUrl = hosts.map((h) => summary(classifyAddress(new URL(`http://${h}/`).hostname)));
  const raw = hosts.map((h) => summary(classifyAddress(h)));
  assert.deepEqual(viaUrl, raw);
  assert.deepEqual(raw, ['loopback', 'loopback', 'loopback', 'loopback', 'loopback', 'metadata', 'loopback via ipv4-mapped', 'loopback', 'metadata', 'public', 'public']);
});
