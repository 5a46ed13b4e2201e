import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../core/daemon/config.ts';
import { startDaemon } from '../core/daemon/daemon.ts';
import { tempDir } from './helpers/temp-dir.ts';

test('serve refuses a tools.workspace that holds the state directory, before creating anything', async () => {
  const home = tempDir();
  const stateDir = join(home, 'state');
  mkdirSync(stateDir);
  writeFileSync(join(stateDir, 'config.toml'), `[tools]\nworkspace = ${JSON.stringify(home)}\n`);
  const config = loadConfig({ stateDir, env: {}, flags: { 'server.port': 0 } }).config;
  await assert.rejects(startDaemon({ stateDir, config, env: {}, version: 'test' }), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: `Cannot use tools.workspace "${home}": it holds the state directory "${stateDir}", whose tokens, policies and journal the file tools could then read and change`,
  });
  assert.equal(existsSync(join(stateDir, 'journal')), false);
});

test('a session whose workspace overlaps the state directory is refused over the API; one apart is created', async () => {
  const stateDir = tempDir();
  const config = loadConfig({ stateDir, env: {}, flags: { 'server.port': 0 } }).config;
  const running = await startDaemon({ stateDir, config, env: {}, version: 'test' });
  try {
    const token = readFileSync(running.adminTokenPath, 'utf8').trim();
    const create = async (workspace: string) => {
      const res = await fetch(`${running.url}/api/v1/sessions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ workspace }) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const refused = await create(join(stateDir, 'policies'));
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.error, {
      code: 'PALYRA_INVALID_ARGUMENT',
      message: `Cannot use workspace "${join(stateDir, 'policies')}": it lies inside the state directory "${stateDir}"; only its "workspace" folder may be a workspace`,
    });
    assert.equal((await create(stateDir)).status, 400);
    assert.equal((await create(tempDir())).status, 201);
  } finally {
    await running.stop('test');
  }
});
