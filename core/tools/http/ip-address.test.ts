import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidrContains, formatIp, parseCidr, parseIp, parseIpv4, parseIpv6 } from './ip-address.ts';

const canonical = (text: string): string | null => {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : null;
};

test('parseIpv4: WHATWG spellings reduce to the same four bytes', () => {
  const spellings = ['127.0.0.1', '127.1', '127.0.1', '2130706433', '0x7f000001', '0x7F.1', '0177.0.0.1', '0177.0.0.01', '017700000001', '127.0.0.1.'];
  assert.deepEqual(
    spellings.map((s) => Array.from(parseIpv4(s) ?? [])),
    spellings.map(() => [127, 0, 0, 1]),
  );
  assert.deepEqual(['127.0.0.1..', '1.2.3.4.5', '256.0.0.1', '1.2.3.256', '1.2.65536', '0x100000000', '08', '1..2', '-1', ' 1.2.3.4'].map(parseIpv4), new Array(10).fill(null));
});

test('parseIpv6: compression, embedded IPv4, brackets and zones', () => {
  assert.deepEqual(
    ['::1', '[::1]', '0:0:0:0:0:0:0:1', '::0:0:1', '::1%eth0', '0::0:1'].map(canonical),
    ['::1', '::1', '::1', '::1', '::1', '::1'],
  );
  assert.deepEqual(
    ['::ffff:127.0.0.1', '::FFFF:7F00:1', '2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'fe80::1%25en0', '1:2:3:4:5:6:7:8', '1::', '::'].map(canonical),
    ['::ffff:7f00:1', '::ffff:7f00:1', '2001:db8::1:0:0:1', '2001:db8::1:0:0:1', 'fe80::1', '1:2:3:4:5:6:7:8', '1::', '::'],
  );
  assert.deepEqual(['1:2:3:4:5:6:7:8:9', '1::2::3', '::12345', '::ffff:1.2.3', '::1.2.3.4:1', 'x::', '1:2:3:4:5:6:7::8', ''].map(parseIpv6), new Array(8).fill(null));
});

test('formatIp: RFC 5952 picks the longest zero run, the first on ties, never a single group', () => {
  assert.deepEqual(
    ['1:0:0:2:0:0:0:3', '1:0:0:2:0:0:3:4', '1:0:2:3:4:5:6:7', '0:0:0:0:0:0:0:0'].map(canonical),
    ['1:0:0:2::3', '1::2:0:0:3:4', '1:0:2:3:4:5:6:7', '::'],
  );
});

test('parseCidr and cidrContains: prefixes on and off byte boundaries, both families', () => {
  const range = (text: string) => parseCidr(text) ?? assert.fail(text);
  const ip = (text: string) => parseIp(text) ?? assert.fail(text);
  assert.deepEqual(
    [
      cidrContains(range('100.64.0.0/10'), ip('100.127.255.255')),
      cidrContains(range('100.64.0.0/10'), ip('100.128.0.0')),
      cidrContains(range('10.0.0.1'), ip('10.0.0.1')),
      cidrContains(range('10.0.0.1'), ip('10.0.0.2')),
      cidrContains(range('fc00::/7'), ip('fdff::1')),
      cidrContains(range('fc00::/7'), ip('fe00::1')),
      cidrContains(range('0.0.0.0/0'), ip('8.8.8.8')),
      cidrContains(range('::/0'), ip('8.8.8.8')),
    ],
    [true, false, true, false, true, false, true, false],
  );
  assert.deepEqual(['10.0.0.0/33', '::/129', '10.0.0.0/', 'x/8', '10.0.0.0/-1'].map(parseCidr), [null, null, null, null, null]);
});
