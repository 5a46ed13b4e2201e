import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { loadTlsFiles } from './tls-files.ts';

const DATA = new URL('../tools/http/testdata/', import.meta.url);
const CERT = new URL('secure-test.cert.pem', DATA).pathname;
const KEY = new URL('secure-test.key.pem', DATA).pathname;

test('the TLS files are read and checked; none configured is null', () => {
  assert.deepEqual(loadTlsFiles({ cert: CERT, key: KEY }), { cert: readFileSync(CERT), key: readFileSync(KEY) });
  assert.equal(loadTlsFiles({ cert: null, key: null }), null);
});

test('a missing, swapped or foreign file is refused naming the key and the path', () => {
  const dir = tempDir();
  const missing = join(dir, 'missing.pem');
  assert.throws(() => loadTlsFiles({ cert: missing, key: KEY }), { code: 'PALYRA_IO', message: `Cannot use server.tls.cert "${missing}": it does not exist` });
  assert.throws(() => loadTlsFiles({ cert: KEY, key: CERT }), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: `Cannot use server.tls.cert "${KEY}": not a PEM certificate (PEM routines::no start line)`,
  });
  assert.throws(() => loadTlsFiles({ cert: CERT, key: CERT }), { code: 'PALYRA_INVALID_ARGUMENT', message: new RegExp(`^Cannot use server\\.tls\\.key "${CERT}": not a PEM private key`) });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = join(dir, 'other.key.pem');
  writeFileSync(other, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  assert.throws(() => loadTlsFiles({ cert: CERT, key: other }), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: new RegExp(`^Cannot use server\\.tls\\.key "${other}" with server\\.tls\\.cert "${CERT}": the key does not belong to the certificate`),
  });
});
