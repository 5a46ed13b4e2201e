import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Redactor } from '../journal/index.ts';
import { initStateDir } from './state-dir.ts';
import { TokenSecrets } from './token-secrets.ts';
import { createWorkerToken, workerTokensDir } from './worker-tokens.ts';

/** Polls until `done` or the deadline: a watch event arrives after an unknown delay. */
async function eventually(done: () => boolean, ms = 3000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) if (done()) return true;
  return done();
}

test('worker tokens created while the daemon runs are learned, also after their folder was removed and made again', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'palyra-token-secrets-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'state');
  initStateDir(root);
  const added: string[] = [];
  const warnings: string[] = [];
  const secrets = new TokenSecrets(root, { adminToken: 'admin-token-0123456789', onWarning: (m) => warnings.push(m) });
  t.after(() => secrets.close());
  secrets.attach({ addSecret: (s: string) => void added.push(s) } as unknown as Redactor);
  assert.deepEqual(added, ['admin-token-0123456789']);

  const first = createWorkerToken(root, 'w1');
  assert.ok(await eventually(() => added.includes(first)), 'a new token is learned from the watch');

  rmSync(workerTokensDir(root), { recursive: true });
  await new Promise((r) => setTimeout(r, 200));
  const second = createWorkerToken(root, 'w2');
  assert.ok(await eventually(() => added.includes(second)), 'a token made after the folder was removed is learned too');
  assert.deepEqual(warnings, []);
});
