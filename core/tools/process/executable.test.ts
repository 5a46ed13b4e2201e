import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { compileAllowlist, resolveExecutable } from './executable.ts';

const SEARCH = '/usr/local/bin:/usr/bin:/bin';

test('bare names resolve on the search path; absolute paths must be listed as such', async () => {
  const { workspace } = toolContext();
  const names = compileAllowlist(['echo'], SEARCH);
  assert.equal(await resolveExecutable('echo', names, workspace), '/usr/bin/echo');
  // A listed absolute path also allows the bare name that resolves to it.
  const paths = compileAllowlist(['/usr/bin/echo'], SEARCH);
  assert.deepEqual([await resolveExecutable('echo', paths, workspace), await resolveExecutable('/usr/bin/echo', paths, workspace)], ['/usr/bin/echo', '/usr/bin/echo']);
  const refused = (message: string) => (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_TOOL_FORBIDDEN' && e.message === message;
  await assert.rejects(resolveExecutable('/usr/bin/echo', names, workspace), refused('Executable "/usr/bin/echo" is refused: it is not on the allowlist'));
  await assert.rejects(resolveExecutable('cat', paths, workspace), refused('Executable "cat" is refused: it is not on the allowlist'));
  await assert.rejects(resolveExecutable('/usr/bin/../bin/cat', paths, workspace), refused('Executable "/usr/bin/../bin/cat" is refused: it is not on the allowlist'));
  const missing = compileAllowlist(['no-such-tool-xyz'], SEARCH);
  await assert.rejects(resolveExecutable('no-such-tool-xyz', missing, workspace), refused('Executable "no-such-tool-xyz" is refused: it is not found on the search path'));
  const notExecutable = compileAllowlist(['/etc/passwd'], SEARCH);
  await assert.rejects(resolveExecutable('/etc/passwd', notExecutable, workspace), refused('Executable "/etc/passwd" is refused: it is not an executable file'));
});
