import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { adminTokenPath, loadOrCreateAdminToken, tokenMatches } from './admin-token.ts';

test('the admin token is created once, 0600 in a 0700 folder, and reused', () => {
  const state = tempDir();
  const token = loadOrCreateAdminToken(state);
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(adminTokenPath(state)).mode & 0o777, 0o600);
  assert.equal(statSync(join(state, 'auth')).mode & 0o777, 0o700);
  assert.equal(readFileSync(adminTokenPath(state), 'utf8'), `${token}\n`);
  assert.equal(loadOrCreateAdminToken(state), token);
  assert.notEqual(loadOrCreateAdminToken(tempDir()), token);
});

test('a token file others can read is refused, with the fix in the message', () => {
  const state = tempDir();
  const token = loadOrCreateAdminToken(state);
  const path = adminTokenPath(state);
  chmodSync(path, 0o644);
  assert.throws(() => loadOrCreateAdminToken(state), {
    code: 'PALYRA_KEY_INVALID',
    message: `Token file "${path}" is accessible to group or others (mode 0644): run "chmod 600 ${path}", and replace the token if others may have read it`,
  });
  chmodSync(path, 0o600);
  assert.equal(loadOrCreateAdminToken(state), token);
});

test('a token file without a token is refused without quoting it', () => {
  const state = tempDir();
  loadOrCreateAdminToken(state);
  // A space, and a guessable token of valid characters but fewer than 32 of them.
  for (const content of ['short secret', 'letmein', 'A'.repeat(31)]) {
    writeFileSync(adminTokenPath(state), `${content}\n`, { mode: 0o600 });
    assert.throws(() => loadOrCreateAdminToken(state), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PALYRA_KEY_INVALID');
      assert.ok(!error.message.includes(content), error.message);
      return true;
    });
  }
});

test('tokenMatches compares whole tokens and never matches an empty one', () => {
  const token = 'Zm9vYmFyYmF6cXV1eGZvb2JhcmJhenF1dXhmb29iYXI';
  assert.equal(tokenMatches(token, token), true);
  assert.equal(tokenMatches(token, `${token}x`), false);
  assert.equal(tokenMatches(token, token.slice(0, -1)), false);
  assert.equal(tokenMatches(token, ''), false);
  assert.equal(tokenMatches(token, undefined), false);
  assert.equal(tokenMatches(token, null), false);
  assert.equal(tokenMatches('', ''), false);
});
