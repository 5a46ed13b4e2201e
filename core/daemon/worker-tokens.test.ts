import assert from 'node:assert/strict';
import { chmodSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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
});

test('a bad or vanished token file is skipped and reported once; the other workers still authenticate', () => {
  const state = tempDir();
  const good = createWorkerToken(state, 'good');
  const dir = join(state, 'auth', 'workers');
  writeFileSync(join(dir, 'open.token'), `${'x'.repeat(43)}\n`, { mode: 0o644 });
  chmodSync(join(dir, 'open.token'), 0o644);
  writeFileSync(join(dir, 'junk.token'), 'not a token\n', { mode: 0o600 });
  // A file revoked between the folder listing and the read, as a dangling link shows it.
  symlinkSync(join(state, 'nowhere'), join(dir, 'gone.token'));
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  assert.equal(findWorkerByToken(state, good, { warn }), 'good');
  assert.equal(findWorkerByToken(state, 'x'.repeat(43), { warn }), null, 'the token of a file readable by others is not accepted');
  assert.deepEqual(warnings, [
    `Worker token file skipped: Token file "${join(dir, 'junk.token')}" does not hold a token (32 to 256 base64url characters): delete it to generate a new one`,
    `Worker token file skipped: Token file "${join(dir, 'open.token')}" is accessible to group or others (mode 0644): run "chmod 600 ${join(dir, 'open.token')}", and replace the token if others may have read it`,
  ]);
  assert.deepEqual(listWorkerTokens(state).map((w) => w.name), ['good', 'junk', 'open']);
  // Fixed, then broken again: reported again.
  chmodSync(join(dir, 'open.token'), 0o600);
  assert.equal(findWorkerByToken(state, 'x'.repeat(43), { warn }), 'open');
  chmodSync(join(dir, 'open.token'), 0o640);
  findWorkerByToken(state, good, { warn });
  assert.equal(warnings.length, 3);
  assert.match(warnings[2] ?? '', /mode 0640/);
});
