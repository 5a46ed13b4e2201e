import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { ToolRegistry } from '../registry.ts';
import { createEchoTool } from './echo.ts';

test('echo returns its text, and refuses anything else', async () => {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  const context = toolContext();
  const ok = await registry.invoke('echo', { text: 'hi' }, context);
  assert.deepEqual(ok.ok ? ok.output : null, { text: 'hi' });
  const errors = await Promise.all([{ text: ['hi'] }, { text: 'x'.repeat(65_537) }, { txt: 'hi' }].map((i) => registry.invoke('echo', i, context)));
  assert.deepEqual(
    errors.map((r) => (r.ok ? null : r.error.message)),
    [
      'Invalid input for "echo": /text must be string',
      'Invalid input for "echo": /text must NOT have more than 65536 characters',
      'Invalid input for "echo": /text is required',
    ],
  );
});
