import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { loadOrCreateAdminToken } from './admin-token.ts';
import { createWorkerToken, findWorkerByToken, listWorkerTokens, revokeWorkerToken } from './worker-tokens.ts';

test('worker tokens are created, listed without the token, found and revoked', () => {
  const state = tempDir();
  assert.deepEqual(listWorkerTokens(state), []);
  const build = createWorkerToken(state, 'build-1');
  const gpu = createWorkerToken(state, 'gpu');
  assert.match(build, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(build, gpu);
  assert.equal(statSync(join(state, 'auth', 'workers', 'gpu.token')).mode & 0o777, 0o600);
  assert.equal(statSync(join(state, 'auth', 'workers')).mode & 0o777, 0o700);
  assert.deepEqual(listWorkerTokens(state).map((w) => w.name), ['build-1', 'gpu']);
  assert.ok(listWorkerTokens(state).every((w) => Object.keys(w).join() === 'name,createdAt' && w.createdAt > 0));
  assert.equal(findWorkerByToken(state, gpu), 'gpu');
  assert.equal(findWorkerByToken(state, build), 'build-1');
  assert.equal(findWorkerByToken(state, 'nope'), null);
  // The admin token is not a worker token.
  assert.equal(findWorkerByToken(state, loadOrCreateAdminToken(state)), null);
  revokeWorkerToken(state, 'gpu');
  assert.equal(findWorkerByToken(state, gpu), null);
  assert.deepEqual(listWorkerTokens(state).map((w) => w.name), ['build-1']);
});

test('worker token misuse is refused clearly', () => {
  const state = tempDir();
  createWorkerToken(state, 'w1');
  assert.throws(() => createWorkerToken(state, 'w1'), { code: 'PALYRA_INVALID_ARGUMENT', message: 'Worker "w1" already has a token: revoke it first to issue a new one' });
  assert.throws(() => createWorkerToken(state, '../admin'), { code: 'PALYRA_INVALID_ARGUMENT' });
  assert.throws(() => revokeWorkerToken(state, 'ghost'), { code: 'PALYRA_NOT_FOUND', message: 'Worker "ghost" has no token' });
  chmodSync(join(state, 'auth', 'workers', 'w1.token'), 0o640);
  assert.throws(() => findWorkerByToken(state, 'x'), { code: 'PALYRA_KEY_INVALID' });
});
