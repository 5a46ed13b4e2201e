import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { createTargetGuard, type HostResolver, type PinnedTarget } from './target-guard.ts';

const dns = (table: Record<string, string[]>): HostResolver => async (name) => {
  const answer = table[name];
  if (answer === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return answer.map((address) => ({ address }));
};

async function outcome(url: string, options: Parameters<typeof createTargetGuard>[0] = {}): Promise<PinnedTarget | { code: string; message: string }> {
  try {
    return await createTargetGuard(options).check(new URL(url));
  } catch (error) {
    assert.ok(error instanceof PalyraError, String(error));
    return { code: error.code, message: error.message };
  }
}

test('a public host is pinned to its first resolved address, in canonical form', async () => {
  const lookup = dns({ 'example.test': ['2606:2800:0220:0001:0248:1893:25c8:1946', '93.184.216.34'] });
  const url = new URL('https://Example.TEST/path');
  assert.deepEqual(await createTargetGuard({ lookup }).check(url), {
    url,
    hostname: 'example.test',
    address: '2606:2800:220:1:248:1893:25c8:1946',
    family: 6,
  });
});

test('literal addresses are pinned without asking the resolver', async () => {
  const lookup: HostResolver = async () => assert.fail('resolver called');
  const url = new URL('http://[2001:4860:4860:0:0:0:0:8888]:8080/');
  assert.deepEqual(await createTargetGuard({ lookup }).check(url), { url, hostname: '2001:4860:4860::8888', address: '2001:4860:4860::8888', family: 6 });
});

test('refusals name the host, the address and the range', async () => {
  assert.deepEqual(await outcome('http://[::ffff:10.1.2.3]/'), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Address "::ffff:a01:203" is private (10.0.0.0/8 via ipv4-mapped 10.1.2.3): not reachable unless the operator allows it',
  });
  assert.deepEqual(await outcome('http://svc.test/', { lookup: dns({ 'svc.test': ['8.8.8.8', '100.64.1.1'] }) }), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Host "svc.test" resolves to 100.64.1.1, which is cgnat (100.64.0.0/10): not reachable unless the operator allows it',
  });
});

test('resolver failures and odd answers fail closed', async () => {
  assert.deepEqual(await outcome('http://missing.test/', { lookup: dns({}) }), { code: 'PALYRA_TOOL_FAILED', message: 'Cannot resolve host "missing.test": ENOTFOUND' });
  assert.deepEqual(await outcome('http://empty.test/', { lookup: dns({ 'empty.test': [] }) }), { code: 'PALYRA_TOOL_FAILED', message: 'Cannot resolve host "empty.test": no addresses' });
  assert.deepEqual(await outcome('http://name.test/', { lookup: dns({ 'name.test': ['other.test'] }) }), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Host "name.test" resolves to "other.test", which is not an IP address',
  });
});

test('an allowed host name exempts its private addresses, and localhost only when named', async () => {
  const lookup = dns({ 'intranet.test': ['10.1.1.1'], localhost: ['127.0.0.1'] });
  const intranet = await outcome('http://intranet.test/', { lookup, allow: ['intranet.test'] });
  assert.deepEqual('address' in intranet ? intranet.address : intranet, '10.1.1.1');
  const localhost = await outcome('http://localhost:8080/', { lookup, allow: ['localhost'] });
  assert.deepEqual('address' in localhost ? localhost.address : localhost, '127.0.0.1');
  assert.equal(((await outcome('http://localhost:8080/', { lookup, allow: ['127.0.0.1'] })) as { code: string }).code, 'PALYRA_TOOL_FORBIDDEN');
});

test('checkConnected accepts the pinned peer (also IPv4-mapped) and refuses any other', () => {
  const guard = createTargetGuard();
  const target: PinnedTarget = { url: new URL('http://a.test/'), hostname: 'a.test', address: '127.0.0.1', family: 4 };
  guard.checkConnected(target, '127.0.0.1');
  guard.checkConnected(target, '::ffff:127.0.0.1');
  assert.throws(() => guard.checkConnected(target, '10.0.0.1'), (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_TOOL_FORBIDDEN');
});
