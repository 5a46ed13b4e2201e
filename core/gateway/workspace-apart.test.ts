import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { assertWorkspaceApart } from './workspace-apart.ts';

test('a workspace apart from the state directory, or its own workspace folder, is accepted', () => {
  const home = tempDir();
  const state = join(home, '.local', 'state', 'palyra');
  mkdirSync(state, { recursive: true });
  for (const ok of [join(home, 'projects'), join(state, 'workspace'), join(state, 'workspace', 'a', 'b'), join(home, '.local', 'state', 'palyra-other')]) {
    assert.doesNotThrow(() => assertWorkspaceApart(ok, state), ok);
  }
});

test('a workspace that is, holds or lies inside the state directory is refused, also through a symlink', () => {
  const home = tempDir();
  const state = join(home, '.local', 'state', 'palyra');
  mkdirSync(join(state, 'policies'), { recursive: true });
  symlinkSync(home, join(home, 'link-to-home'));
  const cases: [string, RegExp][] = [
    [state, /: it is the state directory$/],
    [`${state}/`, /: it is the state directory$/],
    [home, /: it holds the state directory ".*", whose tokens, policies and journal the file tools could then read and change$/],
    [join(home, 'link-to-home'), /it holds the state directory/],
    [join(home, '.local'), /it holds the state directory/],
    [join(state, 'policies'), /: it lies inside the state directory ".*"; only its "workspace" folder may be a workspace$/],
    [join(state, 'auth', 'new'), /it lies inside the state directory/],
  ];
  for (const [workspace, message] of cases) {
    assert.throws(() => assertWorkspaceApart(workspace, state), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PALYRA_INVALID_ARGUMENT');
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(`Cannot use tools.workspace "${workspace}": `));
      return true;
    }, workspace);
  }
});
