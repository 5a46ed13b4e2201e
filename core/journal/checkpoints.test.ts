import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { loadOrCreateSigningKey } from './checkpoints.ts';

test('the signing key is created private, and refused once other users can read it', { skip: process.platform === 'win32' }, () => {
  const dir = join(tempDir('palyra-keys-'), 'keys');
  const keyPath = join(dir, 'checkpoint.key');
  const created = loadOrCreateSigningKey(keyPath, join(dir, 'checkpoint.pub'));
  assert.deepEqual([statSync(dir).mode & 0o777, statSync(keyPath).mode & 0o777], [0o700, 0o600]);
  assert.equal(loadOrCreateSigningKey(keyPath, join(dir, 'checkpoint.pub')).keyId, created.keyId, 'the same key is loaded again');
  chmodSync(keyPath, 0o640);
  assert.throws(() => loadOrCreateSigningKey(keyPath, join(dir, 'checkpoint.pub')), {
    code: 'PALYRA_KEY_INVALID',
    message: `Checkpoint key "${keyPath}" is readable by other users (mode 0640): run chmod 600 on it`,
  });
});
