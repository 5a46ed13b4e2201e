import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { compileAllowlist } from './executable.ts';
import { planProcessRun, type ProcessRunConfig } from './process-plan.ts';

const config: ProcessRunConfig = {
  allowlist: compileAllowlist(['echo'], '/usr/local/bin:/usr/bin:/bin'),
  baseEnv: { PATH: '/usr/bin:/bin', TZ: 'UTC' },
  allowedEnvKeys: new Set(['TZ']),
  defaultTimeoutMs: 1_000,
  maxTimeoutMs: 5_000,
  maxStdinBytes: 16,
};

test('the plan is the whole decision: executable, cwd, environment from nothing, and a timeout within the ceiling', async () => {
  const { workspace } = toolContext();
  assert.deepEqual(await planProcessRun({ argv: ['echo', 'hi'] }, config, workspace), {
    file: '/usr/bin/echo',
    argv: ['echo', 'hi'],
    cwd: workspace,
    env: { HOME: workspace, PATH: '/usr/bin:/bin', TZ: 'UTC' },
    timeoutMs: 1_000,
    stdin: null,
  });
  // Security: the plan caps the timeout itself, whatever the input schema let through.
  const long = await planProcessRun({ argv: ['echo'], timeoutMs: 86_400_000, env: { TZ: 'Europe/Paris' }, stdin: 'x' }, config, workspace);
  assert.deepEqual([long.timeoutMs, long.env, long.stdin], [5_000, { HOME: workspace, PATH: '/usr/bin:/bin', TZ: 'Europe/Paris' }, 'x']);
  assert.equal((await planProcessRun({ argv: ['echo'], timeoutMs: 2_500 }, config, workspace)).timeoutMs, 2_500);
});
