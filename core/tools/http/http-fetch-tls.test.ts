/**
 * HTTPS through the pinned connection: the socket dials the checked IP, while SNI and
 * certificate verification still use the URL's host name. The certificate in testdata/
 * is a self-signed test certificate for `secure.test` only (valid until 2126).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { PalyraError, type JsonValue } from '../../base/index.ts';
import { createHttpFetchTool, type HttpFetchOptions } from './http-fetch-tool.ts';
import { testContext } from './test-server.ts';

const cert = readFileSync(new URL('./testdata/secure-test.cert.pem', import.meta.url), 'utf8');
const key = readFileSync(new URL('./testdata/secure-test.key.pem', import.meta.url), 'utf8');
const lookup = async (): Promise<{ address: string }[]> => [{ address: '127.0.0.1' }];
const servernames: (string | false | null)[] = [];

let server: Server;
let port: number;
before(async () => {
  server = createServer({ cert, key }, (req, res) => {
    servernames.push((req.socket as TLSSocket).servername);
    res.setHeader('content-type', 'text/plain');
    res.end('secret handshake');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

async function outcome(url: string, options: HttpFetchOptions): Promise<JsonValue | { code: string }> {
  try {
    const output = (await createHttpFetchTool({ allow: ['127.0.0.1'], lookup, ...options }).run({ url }, testContext())) as Record<string, JsonValue>;
    return [output['status'] ?? null, output['body'] ?? null];
  } catch (error) {
    assert.ok(error instanceof PalyraError, String(error));
    return { code: error.code };
  }
}

test('https to a pinned address verifies the certificate against the host name', async () => {
  assert.deepEqual(await outcome(`https://secure.test:${port}/`, { ca: cert }), [200, 'secret handshake']);
  assert.deepEqual(servernames, ['secure.test']);
});

test('a certificate for another name, or an untrusted one, fails the call', async () => {
  assert.deepEqual(await outcome(`https://wrong.test:${port}/`, { ca: cert }), { code: 'PALYRA_TOOL_FAILED' });
  assert.deepEqual(await outcome(`https://127.0.0.1:${port}/`, { ca: cert }), { code: 'PALYRA_TOOL_FAILED' });
  assert.deepEqual(await outcome(`https://secure.test:${port}/`, {}), { code: 'PALYRA_TOOL_FAILED' });
});
