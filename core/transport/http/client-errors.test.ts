import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { answerClientErrorsAsJson } from './client-errors.ts';

/** Sends raw bytes (leaving the connection open) and returns everything the server answered before closing it. */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => void socket.write(bytes));
    let got = '';
    socket.on('data', (d) => (got += d.toString('utf8')));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

test('requests Node refuses before any handler are answered in the API\'s JSON error shape', async () => {
  const server = createServer({ headersTimeout: 300, requestTimeout: 300, connectionsCheckingInterval: 100 }, (_req, res) => res.end('ok'));
  answerClientErrorsAsJson(server);
  const port = await listen(server);
  try {
    const huge = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.deepEqual(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4)), { error: { code: 'PALYRA_PAYLOAD_TOO_LARGE', message: 'The request headers are too large' } });
    const garbage = await exchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)).error.code, 'PALYRA_INVALID_ARGUMENT');
    // Headers that never finish (the server checks every 100 ms here; Node's default is 30 s).
    const slow = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n');
    assert.match(slow, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.equal(JSON.parse(slow.slice(slow.indexOf('\r\n\r\n') + 4)).error.code, 'PALYRA_REQUEST_TIMEOUT');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
