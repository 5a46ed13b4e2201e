import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { checkBind, isLoopbackHost } from './bind-policy.ts';

test('loopback hosts are recognised; wildcard and other addresses are not', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', '::ffff:10.0.0.1', 'example.com', '128.0.0.1', 'localhost.evil.com', '']) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

test('loopback is always allowed', () => {
  assert.deepEqual(checkBind('127.0.0.1', { tls: null, tokenConfigured: false }), { host: '127.0.0.1', loopback: true });
});

test('a non-loopback address needs TLS files that exist and a token', () => {
  const dir = tempDir();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(cert, 'cert');
  writeFileSync(key, 'key', { mode: 0o600 });
  assert.throws(() => checkBind('0.0.0.0', { tls: null, tokenConfigured: true }), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: 'Refusing to listen on "0.0.0.0": a non-loopback address needs TLS and an admin token, and server.tls.cert and server.tls.key are not both set (or listen on 127.0.0.1)',
  });
  assert.throws(() => checkBind('0.0.0.0', { tls: { cert, key: null }, tokenConfigured: true }), { code: 'PALYRA_INVALID_ARGUMENT' });
  assert.throws(() => checkBind('10.0.0.1', { tls: { cert, key: join(dir, 'missing.pem') }, tokenConfigured: true }), {
    code: 'PALYRA_IO',
    message: `Cannot use server.tls.key "${join(dir, 'missing.pem')}": it does not exist`,
  });
  assert.throws(() => checkBind('10.0.0.1', { tls: { cert: dir, key }, tokenConfigured: true }), { code: 'PALYRA_IO', message: `Cannot use server.tls.cert "${dir}": not a file` });
  assert.throws(() => checkBind('::', { tls: { cert, key }, tokenConfigured: false }), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: 'Refusing to listen on "::": a non-loopback address needs TLS and an admin token, and no admin token exists (or listen on 127.0.0.1)',
  });
  assert.deepEqual(checkBind('0.0.0.0', { tls: { cert, key }, tokenConfigured: true }), { host: '0.0.0.0', loopback: false });
});
