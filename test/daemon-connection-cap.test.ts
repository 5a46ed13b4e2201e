import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../core/daemon/config.ts';
import { startDaemon } from '../core/daemon/daemon.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** A keep-alive connection that has had one request answered, so the server has surely accepted it. */
async function openAnswered(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    socket.once('data', (chunk) => {
      assert.match(chunk.toString('latin1'), /^HTTP\/1\.1 200/);
      resolve();
    });
  });
  return socket;
}

/** What happens to a new connection: 'answered' with a status line, or 'closed' with nothing said. */
function tryConnection(port: number): Promise<'answered' | 'closed'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answered = false;
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    socket.on('data', (chunk) => {
      if (chunk.toString('latin1').startsWith('HTTP/1.1 200')) answered = true;
    });
    socket.on('close', () => resolve(answered ? 'answered' : 'closed'));
  });
}

test('past server.maxConnections new connections are closed at once, logged once, and accepted again when one closes', async () => {
  const stateDir = tempDir();
  writeFileSync(join(stateDir, 'config.toml'), '[server]\nmaxConnections = 3\nkeepAliveTimeoutMs = 60000\n');
  const config = loadConfig({ stateDir, env: {}, flags: { 'server.port': 0 } }).config;
  assert.equal(config.server.maxConnections, 3);
  const logged: string[] = [];
  const running = await startDaemon({ stateDir, config, env: {}, version: 'test', log: (message) => logged.push(message) });
  const held: Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) held.push(await openAnswered(running.port));
    assert.equal(await tryConnection(running.port), 'closed');
    assert.equal(await tryConnection(running.port), 'closed');
    const limitLines = logged.filter((line) => line.startsWith('connection limit reached'));
    assert.deepEqual(limitLines, ['connection limit reached: 3 open, 1 new connection(s) refused (server.maxConnections)']);

    const first = held.shift() as Socket;
    await new Promise<void>((resolve) => {
      first.once('close', () => resolve());
      first.destroy();
    });
    // The server learns of the close a moment after the client: retry briefly.
    let outcome: 'answered' | 'closed' = 'closed';
    for (let attempt = 0; attempt < 50 && outcome === 'closed'; attempt++) {
      outcome = await tryConnection(running.port);
      if (outcome === 'closed') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(outcome, 'answered');
  } finally {
    for (const socket of held) socket.destroy();
    await running.stop('test');
  }
});

test('server.maxConnections outside 1-65536 is refused with the key named', () => {
  const stateDir = tempDir();
  for (const bad of ['0', '70000', '1.5', '"many"']) {
    writeFileSync(join(stateDir, 'config.toml'), `[server]\nmaxConnections = ${bad}\n`);
    assert.throws(() => loadConfig({ stateDir, env: {} }), (error: Error) => {
      assert.equal((error as Error & { code?: string }).code, 'PALYRA_INVALID_ARGUMENT');
      assert.match(error.message, /server\.maxConnections/);
      return true;
    });
  }
  writeFileSync(join(stateDir, 'config.toml'), '[server]\nmaxConnections = 65536\n');
  assert.equal(loadConfig({ stateDir, env: {} }).config.server.maxConnections, 65536);
});
