import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PalyraError } from '../base/index.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { PolicyStore } from './policy-store.ts';

const GOOD = '@id("team.fetch") permit (principal, action, resource == Tool::"http.fetch");\n';
const TYPO = '@id("team.typo") permit (principal, action, resource) when { resource.capabilitys.isEmpty() };\n';

function policyDir(files: Record<string, string> = {}): string {
  const dir = join(tempDir(), 'policies');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('a missing folder means the built-in set alone', async () => {
  const store = await PolicyStore.open(join(tempDir(), 'nope'));
  assert.deepEqual(
    store.current.policies.map((p) => p.id),
    ['builtin.read-only', 'builtin.approved-sensitive', 'builtin.non-owner-forbidden', 'builtin.budget-exhausted'],
  );
});

test('a set that fails validation is refused whole and the previous set stays in force', async () => {
  const dir = policyDir({ 'team.cedar': GOOD });
  const store = await PolicyStore.open(dir);
  const before = store.current;
  writeFileSync(join(dir, 'typo.cedar'), TYPO);
  const refused = await store.reload();
  assert.equal(refused.type, 'refused');
  if (refused.type === 'refused') {
    assert.equal(refused.kept, before);
    assert.equal(refused.error.code, 'PALYRA_POLICY_INVALID');
    assert.deepEqual(
      refused.problems.map((p) => [p.kind, p.file, p.line, p.column, p.policyId]),
      [['validation', join(dir, 'typo.cedar'), 1, 62, 'team.typo']],
    );
  }
  assert.equal(store.current, before, 'the valid file stays in force too: the set is refused as a whole');
  writeFileSync(join(dir, 'typo.cedar'), TYPO.replace('capabilitys', 'capabilities'));
  const loaded = await store.reload();
  assert.deepEqual(loaded.type === 'loaded' && [loaded.changed, loaded.set.policies.length], [true, 6]);
  assert.deepEqual((await store.reload()).type === 'loaded' && (await store.reload()), { type: 'loaded', set: store.current, changed: false });
});

test('opening a folder whose set does not validate fails with every problem', async () => {
  const dir = policyDir({ 'a.cedar': TYPO, 'b.cedar': 'permit (principal, action, resource' });
  await assert.rejects(PolicyStore.open(dir), (error: unknown) => {
    assert.ok(error instanceof PalyraError);
    assert.equal(error.code, 'PALYRA_POLICY_INVALID');
    const problems = (error.details?.problems ?? []) as { file: string; kind: string }[];
    assert.deepEqual(problems.map((p) => [p.file, p.kind]), [[join(dir, 'a.cedar'), 'validation'], [join(dir, 'b.cedar'), 'parse']]);
    assert.match(error.message, /^Policy set is invalid: .*a\.cedar:1:62: validation error: .* \(and 1 more\)$/);
    return true;
  });
});

test('persistPolicy writes only a policy that validates with the rest, and never overwrites', async () => {
  const dir = policyDir({ 'team.cedar': GOOD });
  const store = await PolicyStore.open(dir);
  const before = store.current;
  await assert.rejects(store.persistPolicy({ policyId: 'team.typo', fileName: 'approved-1.cedar', text: TYPO }), { code: 'PALYRA_POLICY_INVALID' });
  assert.deepEqual(readdirSync(dir), ['team.cedar']);
  assert.equal(store.current, before);
  const text = '@id("approved.2") permit (principal, action, resource == Tool::"fs.write");\n';
  const record = await store.persistPolicy({ policyId: 'approved.2', fileName: 'approved-2.cedar', text });
  assert.deepEqual(record, {
    policyId: 'approved.2',
    path: join(dir, 'approved-2.cedar'),
    sha256: record.sha256,
    text,
    policySetHash: store.current.hash,
  });
  assert.match(record.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(readdirSync(dir).sort(), ['approved-2.cedar', 'team.cedar'], 'no temporary file is left behind');
  await assert.rejects(store.persistPolicy({ policyId: 'approved.2', fileName: 'approved-2.cedar', text }), { code: 'PALYRA_INVALID_ARGUMENT' });
  await assert.rejects(store.persistPolicy({ policyId: 'x', fileName: '../escape.cedar', text }), { code: 'PALYRA_INVALID_ARGUMENT' });
  assert.equal(existsSync(join(dir, '..', 'escape.cedar')), false);
});

test('persistPolicy adds to the set in force: files edited on disk since the last reload stay out until a reload', async () => {
  const dir = policyDir({ 'team.cedar': GOOD });
  const store = await PolicyStore.open(dir);
  // An operator's draft, not reloaded: one that would allow any process, and one that does not parse.
  writeFileSync(join(dir, 'draft.cedar'), '@id("draft.any-process") permit (principal, action, resource == Tool::"process.run");\n');
  writeFileSync(join(dir, 'broken.cedar'), 'permit (principal');
  const text = '@id("approved.3") permit (principal, action, resource == Tool::"fs.write");\n';
  await store.persistPolicy({ policyId: 'approved.3', fileName: 'approved-3.cedar', text });
  const ids = store.current.policies.map((p) => p.id);
  assert.ok(ids.includes('approved.3') && ids.includes('team.fetch'));
  assert.equal(ids.includes('draft.any-process'), false);
  // The reload is what takes the folder as it is (and here refuses it, for the broken file).
  const reloaded = await store.reload();
  assert.equal(reloaded.type, 'refused');
  writeFileSync(join(dir, 'broken.cedar'), '');
  const fixed = await store.reload();
  assert.ok(fixed.type === 'loaded' && fixed.set.policies.some((p) => p.id === 'draft.any-process'));
});

test('replace swaps in a new folder whole; a failing set or a bad name changes nothing', async () => {
  const dir = policyDir({ 'old.cedar': GOOD, 'always-x.cedar': GOOD.replace('team.fetch', 'always.x') });
  const store = await PolicyStore.open(dir);
  const before = store.current.hash;
  await assert.rejects(store.replace({ 'typo.cedar': TYPO }), (e: PalyraError) => e.code === 'PALYRA_POLICY_INVALID');
  await assert.rejects(store.replace({ '../escape.cedar': GOOD }), (e: PalyraError) => e.code === 'PALYRA_INVALID_ARGUMENT');
  await assert.rejects(store.replace({ 'x.txt': GOOD }), (e: PalyraError) => e.code === 'PALYRA_INVALID_ARGUMENT');
  assert.equal(store.current.hash, before);
  assert.deepEqual(readdirSync(dir).sort(), ['always-x.cedar', 'old.cedar'], 'refused replaces wrote nothing');
  const replaced = await store.replace({ 'new.cedar': GOOD });
  assert.equal(replaced.previousHash, before);
  assert.notEqual(replaced.set.hash, before);
  assert.deepEqual(readdirSync(dir), ['new.cedar']);
  assert.deepEqual(readdirSync(join(dir, '..')).filter((n) => n.startsWith('policies')), ['policies'], 'no staging or previous folder is left');
  const reopened = await PolicyStore.open(dir);
  assert.equal(reopened.current.hash, replaced.set.hash, 'the replaced set is what a restart loads');
});

test('a crash between the two renames of a replace leaves the old folder in force', async () => {
  const dir = policyDir({ 'old.cedar': GOOD });
  const store = await PolicyStore.open(dir);
  const { renameSync } = await import('node:fs');
  renameSync(dir, `${dir}.previous`);
  const reopened = await PolicyStore.open(dir);
  assert.equal(reopened.current.hash, store.current.hash);
  assert.ok(existsSync(join(dir, 'old.cedar')) && !existsSync(`${dir}.previous`));
});
