import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { initStateDir, openStateDirForReading, resolveStateDir, statePaths } from './state-dir.ts';

test('the state directory: --state, then PALYRA_STATE_DIR, then an absolute XDG_STATE_HOME, then ~/.local/state', () => {
  const env = { PALYRA_STATE_DIR: '/srv/palyra', XDG_STATE_HOME: '/var/state' };
  assert.equal(resolveStateDir('rel/dir', env), resolve('rel/dir'));
  assert.equal(resolveStateDir(undefined, env), '/srv/palyra');
  assert.equal(resolveStateDir(undefined, { XDG_STATE_HOME: '/var/state' }), '/var/state/palyra');
  // The XDG spec: a relative value is invalid and ignored.
  assert.equal(resolveStateDir(undefined, { XDG_STATE_HOME: 'relative/state' }), join(homedir(), '.local', 'state', 'palyra'));
  assert.equal(resolveStateDir(undefined, {}), join(homedir(), '.local', 'state', 'palyra'));
  assert.throws(() => resolveStateDir('  ', env), { code: 'PALYRA_USAGE', message: '--state needs a directory, not an empty string' });
  assert.throws(() => resolveStateDir(undefined, { PALYRA_STATE_DIR: '' }), { code: 'PALYRA_USAGE', message: 'PALYRA_STATE_DIR is set but empty: set it to a directory, or unset it for the default' });
  assert.equal(resolveStateDir('given', { PALYRA_STATE_DIR: '' }), resolve('given'), 'the flag wins over an empty variable');
});

test('processes starting together on fresh directories never see a half-written marker', async () => {
  const base = tempDir('palyra-state-race-');
  const startAt = Date.now() + 1500;
  // Each child initialises the same 400 fresh directories, all starting at the same moment.
  const script = `
    import { initStateDir } from ${JSON.stringify(new URL('./state-dir.ts', import.meta.url).href)};
    while (Date.now() < ${startAt}) {}
    const errors = new Set();
    for (let i = 0; i < 400; i++) {
      try { initStateDir(${JSON.stringify(base)} + '/d' + i); } catch (error) { errors.add(error.message); }
    }
    console.log(JSON.stringify([...errors]));`;
  const children = [1, 2, 3].map(() => spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const outputs = await Promise.all(children.map(async (child) => { let out = ''; for await (const chunk of child.stdout!) out += String(chunk); return out.trim(); }));
  assert.deepEqual(outputs, ['[]', '[]', '[]']);
  for (let i = 0; i < 400; i++) assert.equal(readFileSync(join(base, `d${i}`, 'STATE'), 'utf8'), '{"format":"palyra-state","version":1}\n');
});

test('a directory holding only config.toml and policies/ is new: it gets the marker and mode 0700', () => {
  const root = join(tempDir(), 'state');
  mkdirSync(join(root, 'policies'), { recursive: true, mode: 0o755 });
  chmodSync(root, 0o755);
  writeFileSync(join(root, 'config.toml'), 'version = 1\n');
  assert.deepEqual(openStateDirForReading(root), statePaths(root), 'a reader reads its policies');
  assert.deepEqual(initStateDir(root), statePaths(root));
  assert.deepEqual(JSON.parse(readFileSync(join(root, 'STATE'), 'utf8')), { format: 'palyra-state', version: 1 });
  assert.equal(statSync(root).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(root).sort(), ['STATE', 'config.toml', 'policies']);
});

test('an existing empty directory is made 0700 when it becomes a state directory', () => {
  const root = join(tempDir(), 'state');
  mkdirSync(root, { mode: 0o755 });
  chmodSync(root, 0o755);
  initStateDir(root);
  assert.equal(statSync(root).mode & 0o777, 0o700);
});

test('anything else without the marker is refused, also a "policies" file or a "config.toml" folder', () => {
  for (const setup of [(r: string) => writeFileSync(join(r, 'notes.txt'), 'x'), (r: string) => writeFileSync(join(r, 'policies'), 'x'), (r: string) => mkdirSync(join(r, 'config.toml'))]) {
    const root = join(tempDir(), 'state');
    mkdirSync(root);
    setup(root);
    assert.throws(() => initStateDir(root), { code: 'PALYRA_STATE_DIR_INVALID', message: `Directory "${root}" is not a palyrad state directory: it has files but no STATE marker` });
    assert.equal(existsSync(join(root, 'STATE')), false);
  }
});

test('an empty or relative HOME does not put the default state directory under the current folder', (t) => {
  const saved = process.env.HOME;
  t.after(() => {
    if (saved === undefined) delete process.env.HOME;
    else process.env.HOME = saved;
  });
  for (const home of ['', 'relative/home']) {
    process.env.HOME = home;
    const dir = resolveStateDir(undefined, {});
    assert.ok(isAbsolute(dir), `${JSON.stringify(home)} gave ${dir}`);
    assert.equal(dir, join(userInfo().homedir, '.local', 'state', 'palyra'));
  }
});
