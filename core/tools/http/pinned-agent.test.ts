import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { createPinnedAgent, type PinnedAgentOptions } from './pinned-agent.ts';
import { createTargetGuard, type PinnedTarget, type TargetGuard } from './target-guard.ts';
import { startTestServer, type TestServer } from './test-server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const options = (guard: TargetGuard = createTargetGuard()): PinnedAgentOptions => ({ guard, connectTimeoutMs: 2000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000 });
const target = (hostname: string): PinnedTarget => ({ url: new URL(`http://${hostname}/`), hostname, address: '127.0.0.1', family: 4 });

test('the agent dials the pinned address whatever the name, and sends the name as Host', async () => {
  const agent = createPinnedAgent(target('unresolvable.invalid'), options());
  try {
    const res = await agent.request({ origin: `http://unresolvable.invalid:${server.port}`, path: '/text', method: 'GET' });
    assert.deepEqual([res.statusCode, await res.body.text(), server.seen.at(-1)?.headers['host']], [200, 'hello', `unresolvable.invalid:${server.port}`]);
  } finally {
    await agent.destroy();
  }
});

test('the agent refuses origins other than the checked one, with the guard error', async () => {
  const agent = createPinnedAgent(target('a.test'), options());
  try {
    await assert.rejects(
      agent.request({ origin: `http://b.test:${server.port}`, path: '/text', method: 'GET' }),
      (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_TOOL_FORBIDDEN' && e.message === 'Connection to unchecked host "b.test" refused',
    );
  } finally {
    await agent.destroy();
  }
});

test('a peer address the guard refuses closes the socket before a request is written', async () => {
  const before = server.seen.length;
  const guard: TargetGuard = {
    check: async () => assert.fail('not used'),
    checkConnected: (_t, remote) => {
      throw new PalyraError('PALYRA_TOOL_FORBIDDEN', `Peer "${remote}" refused`);
    },
  };
  const agent = createPinnedAgent(target('a.test'), options(guard));
  try {
    await assert.rejects(
      agent.request({ origin: `http://a.test:${server.port}`, path: '/text', method: 'GET' }),
      (e: unknown) => e instanceof PalyraError && e.message === 'Peer "127.0.0.1" refused',
    );
    assert.equal(server.seen.length, before);
  } finally {
    await agent.destroy();
  }
});
