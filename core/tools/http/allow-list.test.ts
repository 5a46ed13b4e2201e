import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { parseAllowList } from './allow-list.ts';
import { classifyIp } from './classify-address.ts';
import { parseIp } from './ip-address.ts';

const allows = (entries: string[], address: string, nameAllowed = false): boolean => {
  const ip = parseIp(address) ?? assert.fail(address);
  return parseAllowList(entries).allowsAddress(ip, classifyIp(ip), nameAllowed);
};

test('address and CIDR entries exempt addresses in any spelling, mapped forms included', () => {
  assert.deepEqual(
    [
      allows(['127.0.0.1'], '127.0.0.1'),
      allows(['127.0.0.1'], '::ffff:127.0.0.1'),
      allows(['0x7f000001'], '127.0.0.1'),
      allows(['127.0.0.1'], '127.0.0.2'),
      allows(['10.0.0.0/8'], '10.20.30.40'),
      allows(['fd12::/16'], 'fd12:1::1'),
      allows(['fd12::/16'], 'fd13::1'),
      allows([], '8.8.8.8'),
      allows([], '10.0.0.1'),
      allows([], '10.0.0.1', true),
    ],
    [true, true, true, false, true, true, false, true, false, true],
  );
});

test('metadata addresses need an entry naming exactly them', () => {
  assert.deepEqual(
    [
      allows(['169.254.0.0/16'], '169.254.169.254'),
      allows(['0.0.0.0/0'], '169.254.169.254'),
      allows(['169.254.169.254'], '169.254.169.254'),
      allows(['169.254.169.254/32'], '::ffff:169.254.169.254'),
      allows(['fd00::/8'], 'fd00:ec2::254'),
      allows([], '169.254.169.254', true),
    ],
    [false, false, true, true, false, false],
  );
});

test('host name entries: exact names, and wildcards for sub-domains only', () => {
  const list = parseAllowList(['Intranet.Example', '*.corp.example']);
  assert.deepEqual(
    ['intranet.example', 'INTRANET.example.', 'x.intranet.example', 'a.corp.example', 'a.b.corp.example', 'corp.example', 'evilcorp.example'].map((n) => list.allowsName(n)),
    [true, true, false, true, true, false, false],
  );
  assert.throws(() => parseAllowList(['http://x/']), (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_INVALID_ARGUMENT');
});
