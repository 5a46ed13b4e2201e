import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { loadConfig } from '../core/daemon/config.ts';
import { startDaemon } from '../core/daemon/daemon.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** Sends one raw request and returns the whole answer (the server closes after it). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => void socket.write(request));
    let got = '';
    socket.on('data', (d) => (got += d.toString('utf8')));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
    setTimeout(() => socket.end(), 2000).unref();
  });
}

// Node's HTTP parser accepts these request targets; the WHATWG URL parser does not.
const TARGETS = ['//a:x/', '//[', '//a%zzb/', '//a:99999/'];

test('a request target the URL parser refuses gets a 400, on requests and on upgrades, and the daemon lives on', async () => {
  const stateDir = tempDir();
  const config = loadConfig({ stateDir, env: {}, flags: { 'server.port': 0 } }).config;
  const running = await startDaemon({ stateDir, config, env: {}, version: 'test' });
  try {
    for (const target of TARGETS) {
      const plain = await raw(running.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.match(plain, /^HTTP\/1\.1 400 /, target);
      assert.deepEqual(JSON.parse(plain.slice(plain.indexOf('\r\n\r\n') + 4)), { error: { code: 'PALYRA_INVALID_ARGUMENT', message: 'The request target is not a valid URL path' } });
      const upgrade = await raw(
        running.port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
      assert.match(upgrade, /^HTTP\/1\.1 400 /, `upgrade ${target}`);
      assert.match(upgrade, /"PALYRA_INVALID_ARGUMENT"/);
    }
    const health = await fetch(`${running.url}/healthz`);
    assert.equal(health.status, 200);
  } finally {
    await running.stop('test');
  }
});
