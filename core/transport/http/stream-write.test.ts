import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { writeStreamed } from './http-kit.ts';

test('a stream whose client does not read is cut off once its unsent bytes pass the cap, not buffered whole', async () => {
  const cap = 256 * 1024;
  const piece = `data: ${'x'.repeat(16 * 1024)}\n\n`;
  let most = 0;
  let written = 0;
  const cut = new Promise<void>((resolve) => {
    const server = createServer((_req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.on('close', () => {
        server.close();
        resolve();
      });
      // 64 MiB offered in one go, as a run pushing events to a stalled client would.
      for (let i = 0; i < 4096 && writeStreamed(res, piece, cap); i++) {
        written++;
        most = Math.max(most, res.writableLength);
      }
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      const client = connect(port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      client.pause(); // never reads
      client.on('error', () => undefined);
      client.on('close', () => undefined);
      setTimeout(() => client.destroy(), 5000).unref();
    });
  });
  await cut;
  assert.ok(most <= cap + piece.length, `at most the cap plus one piece was held (held ${most})`);
  assert.ok(written < 4096, `the stream stopped (${written} pieces written)`);
});

test('writeStreamed writes to a reading client and reports a gone one', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    assert.equal(writeStreamed(res, 'data: 1\n\n'), true);
    res.end();
    assert.equal(writeStreamed(res, 'data: 2\n\n'), false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  assert.equal(body, 'data: 1\n\n');
  server.close();
});
