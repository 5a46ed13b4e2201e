import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { answerClientErrorsAsJson } from './client-errors.ts';

/**
 * Sends raw bytes and returns everything the server answered up to its end of the
 * stream. The client never closes its own side (allowHalfOpen), as a hostile peer would not.
 */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => void socket.write(bytes));
    let got = '';
    socket.on('data', (d) => (got += d.toString('utf8')));
    socket.on('end', () => {
      resolve(got);
      // Closed only after the server was seen to let go (see assertNoConnections).
      setTimeout(() => socket.destroy(), 3000).unref();
    });
    socket.on('error', reject);
  });
}

/** Waits until the server holds no connection: an answered bad request must not keep its slot. */
async function assertNoConnections(server: Server): Promise<void> {
  let open = -1;
  for (let attempt = 0; attempt < 100; attempt++) {
    open = await new Promise<number>((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    if (open === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`the server still holds ${open} connection(s) of peers that never closed their side`);
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
    await assertNoConnections(server);
    const garbage = await exchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
    await assertNoConnections(server);
    assert.equal(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)).error.code, 'PALYRA_INVALID_ARGUMENT');
    // Headers that never finish (the server checks every 100 ms here; Node's default is 30 s).
    const slow = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n');
    assert.match(slow, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    await assertNoConnections(server);
    assert.equal(JSON.parse(slow.slice(slow.indexOf('\r\n\r\n') + 4)).error.code, 'PALYRA_REQUEST_TIMEOUT');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
