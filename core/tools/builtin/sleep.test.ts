import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { ToolRegistry } from '../registry.ts';
import { createSleepTool } from './sleep.ts';

test('sleep waits, refuses bad durations, and stops on timeout or cancellation', async () => {
  const registry = new ToolRegistry();
  registry.register(createSleepTool());
  registry.register({ ...createSleepTool(), name: 'sleep.short', limits: { timeoutMs: 30, maxOutputBytes: 1024 } });
  const context = toolContext();
  const slept = await registry.invoke('sleep', { ms: 20 }, context);
  assert.deepEqual(slept.ok ? slept.output : null, { sleptMs: 20 });
  assert.ok(slept.durationMs >= 19);

  const bad = await Promise.all([{ ms: -1 }, { ms: 60_001 }, { ms: '5' }, { ms: 1.5 }].map((i) => registry.invoke('sleep', i, context)));
  assert.deepEqual(
    bad.map((r) => (r.ok ? null : r.error.message)),
    [
      'Invalid input for "sleep": /ms must be >= 0',
      'Invalid input for "sleep": /ms must be <= 60000',
      'Invalid input for "sleep": /ms must be integer',
      'Invalid input for "sleep": /ms must be integer',
    ],
  );

  const timedOut = await registry.invoke('sleep.short', { ms: 10_000 }, context);
  assert.deepEqual(timedOut.ok ? null : timedOut.error, { code: 'PALYRA_TOOL_TIMEOUT', message: 'Tool "sleep.short" timed out after 30 ms' });
  assert.ok(timedOut.durationMs < 5_000);

  const caller = new AbortController();
  setTimeout(() => caller.abort(), 20);
  const cancelled = await registry.invoke('sleep', { ms: 10_000 }, { ...context, signal: caller.signal });
  assert.deepEqual(cancelled.ok ? null : cancelled.error, { code: 'PALYRA_TOOL_CANCELLED', message: 'Tool "sleep" was cancelled' });
});
