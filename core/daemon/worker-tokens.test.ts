import assert from 'node:assert/strict';
import { chmodSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { loadOrCreateAdminToken } from './admin-token.ts';
import { ToolRegistry, type ToolDefinition } from '../tools/index.ts';
import { namespacedToolName, WORKER_OFFERABLE_TOOLS, workerToolRegistry } from '../transport/worker/index.ts';
import { createWorkerToken, findWorkerByToken, listWorkerTokens, revokeWorkerToken, WORKER_NAME_MAX_LENGTH } from './worker-tokens.ts';

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
  // Names whose tools could never be registered (worker.<name>.<tool>) are refused at once.
  assert.throws(() => createWorkerToken(state, '1gpu'), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: 'Worker name "1gpu" is invalid: use lowercase letters, digits, "-" and "_", starting with a letter (its tools are named worker.<name>.<tool>)',
  });
  assert.throws(() => createWorkerToken(state, 'g'.repeat(47)), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: `Worker name "${'g'.repeat(47)}" is too long (47 characters): at most 46, so that its tools' names worker.<name>.<tool> fit in 64`,
  });
  // A token made before these rules can still be revoked.
  writeFileSync(join(state, 'auth', 'workers', '1gpu.token'), `${'x'.repeat(43)}\n`, { mode: 0o600 });
  revokeWorkerToken(state, '1gpu');
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

test('the longest worker name a token gets still names every tool a CLI worker offers', () => {
  const state = tempDir();
  const name = 'g'.repeat(WORKER_NAME_MAX_LENGTH);
  createWorkerToken(state, name);
  const worker = workerToolRegistry(WORKER_OFFERABLE_TOOLS, { stateDir: state });
  const daemon = new ToolRegistry();
  for (const tool of worker.list()) daemon.register({ ...worker.get(tool.name)!, name: namespacedToolName(name, tool.name) } as ToolDefinition<never>);
  assert.equal(daemon.list().length, WORKER_OFFERABLE_TOOLS.length);
});
