import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { resolveStateDir } from './state-dir.ts';

test('the state directory: --state, then PALYRA_STATE_DIR, then an absolute XDG_STATE_HOME, then ~/.local/state', () => {
  const env = { PALYRA_STATE_DIR: '/srv/palyra', XDG_STATE_HOME: '/var/state' };
  assert.equal(resolveStateDir('rel/dir', env), resolve('rel/dir'));
  assert.equal(resolveStateDir(undefined, env), '/srv/palyra');
  assert.equal(resolveStateDir(undefined, { XDG_STATE_HOME: '/var/state' }), '/var/state/palyra');
  // The XDG spec: a relative value is invalid and ignored.
  assert.equal(resolveStateDir(undefined, { XDG_STATE_HOME: 'relative/state' }), join(homedir(), '.local', 'state', 'palyra'));
  assert.equal(resolveStateDir(undefined, {}), join(homedir(), '.local', 'state', 'palyra'));
  assert.throws(() => resolveStateDir('  ', env), { code: 'PALYRA_USAGE', message: '--state needs a directory, not an empty string' });
});
