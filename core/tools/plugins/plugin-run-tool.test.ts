import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.ts';
import { sha256Hex } from '../../base/index.ts';
import { listPlugins } from './list-plugins.ts';
import { createPluginRunTool } from './plugin-run-tool.ts';
import { installPlugin, toolContext, watModule } from './test-support.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const dir = tempDir('palyra-plugins-');
// The example plugin is built from its .wat source by the real script, so the source is the truth.
execFileSync(process.execPath, [join(root, 'scripts', 'build-plugins.mjs'), dir], { stdio: 'pipe' });
const tool = createPluginRunTool({ pluginsDir: dir });

test('the example plugin counts words and logs through its granted host function', async () => {
  const sha256 = sha256Hex(readFileSync(join(dir, 'word-count', 'word-count.wasm')));
  const result = await tool.run({ plugin: 'word-count', input: { text: 'hello wide  world\nnew\tline, café!' } }, toolContext(dir));
  assert.deepEqual(result, { plugin: 'word-count', version: '1.0.0', sha256, output: { words: 6 }, logs: ['{"words":6}'] });
  const empty = await tool.run({ plugin: 'word-count', input: { text: '' } }, toolContext(dir));
  assert.deepEqual((empty as { output: unknown }).output, { words: 0 });
});

test('the tool declares its contract', () => {
  assert.deepEqual(
    { name: tool.name, capabilities: tool.capabilities, risk: tool.risk, limits: tool.limits, required: tool.inputSchema.required },
    // The output's own cap (1 MiB, in the worker) plus room for the envelope and the logs.
    { name: 'plugin.run', capabilities: ['plugin'], risk: 'medium', limits: { timeoutMs: 10_000, maxOutputBytes: 1024 * 1024 + 256 * 1024 }, required: ['plugin', 'input'] },
  );
});

test("input not matching the plugin's schema is refused with the field named, before running", async () => {
  await assert.rejects(tool.run({ plugin: 'word-count', input: { text: 5 } }, toolContext(dir)), {
    code: 'PALYRA_TOOL_INPUT_INVALID',
    message: 'Input of plugin "word-count" is invalid: /text must be string',
  });
  await assert.rejects(tool.run({ plugin: 'word-count', input: { txt: 'a' } }, toolContext(dir)), {
    code: 'PALYRA_TOOL_INPUT_INVALID',
    message: 'Input of plugin "word-count" is invalid: /text is required',
  });
});

test('plugin names that are paths are refused; unknown plugins are not found', async () => {
  for (const plugin of ['../word-count', 'word-count/../x', '/etc', '.', '..', 'Word-Count', '']) {
    await assert.rejects(tool.run({ plugin, input: {} }, toolContext(dir)), { code: 'PALYRA_TOOL_INPUT_INVALID' }, plugin);
  }
  await assert.rejects(tool.run({ plugin: 'nope', input: {} }, toolContext(dir)), {
    code: 'PALYRA_TOOL_NOT_FOUND',
    message: `Plugin "nope" is not installed: no ${join(dir, 'nope', 'plugin.json')}`,
  });
});

test('a manifest with a bad field is refused, naming the field', async () => {
  await installPlugin(dir, 'bad-limits', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)'), manifest: { limits: { memoryPages: 0 } } });
  await assert.rejects(tool.run({ plugin: 'bad-limits', input: {} }, toolContext(dir)), {
    code: 'PALYRA_TOOL_FAILED',
    message: 'Plugin "bad-limits" manifest is invalid: field "limits.memoryPages" must be an integer from 1 to 65536 (64 KiB pages)',
    details: { plugin: 'bad-limits', field: 'limits.memoryPages' },
  });
  await installPlugin(dir, 'bad-schema', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)'), manifest: { input: { type: 'objekt' } } });
  await assert.rejects(tool.run({ plugin: 'bad-schema', input: {} }, toolContext(dir)), { code: 'PALYRA_TOOL_FAILED', details: { plugin: 'bad-schema', field: 'input' } });
});

test('granted host functions link and run; a module missing an ABI export is refused', async () => {
  const imports = '(import "palyra" "now_ms" (func $now (result f64))) (import "palyra" "random_u32" (func $rand (result i32)))';
  const wat = watModule(
    `(data (i32.const 0) "{}")
     (func (export "run") (param i32 i32) (result i64)
       (drop (call $now)) (drop (call $rand)) (i64.const 2))`,
    { imports },
  );
  await installPlugin(dir, 'clock', { wat, manifest: { hostFunctions: ['now_ms', 'random_u32'] } });
  assert.deepEqual((await tool.run({ plugin: 'clock', input: [] }, toolContext(dir)) as { output: unknown }).output, {});
  await installPlugin(dir, 'no-run', { wat: '(module (memory (export "memory") 1 1) (func (export "alloc") (param i32) (result i32) i32.const 0))' });
  await assert.rejects(tool.run({ plugin: 'no-run', input: {} }, toolContext(dir)), {
    code: 'PALYRA_TOOL_FAILED',
    message: 'Plugin "no-run" does not export function "run" (see docs/plugins.md, ABI)',
  });
});

test('listPlugins reports each plugin and whether it verifies, without running any', async () => {
  const listDir = tempDir('palyra-plugin-list-');
  execFileSync(process.execPath, [join(root, 'scripts', 'build-plugins.mjs'), listDir], { stdio: 'pipe' });
  const { dir: broken } = await installPlugin(listDir, 'broken', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)'), manifest: { hostFunctions: ['log'] } });
  // Bytes that match the manifest's hash but are not WebAssembly.
  writeFileSync(join(broken, 'broken.wasm'), 'not wasm');
  const manifest = JSON.parse(readFileSync(join(broken, 'plugin.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(broken, 'plugin.json'), JSON.stringify({ ...manifest, sha256: sha256Hex('not wasm') }));
  const list = await listPlugins(listDir);
  assert.match(list[0]?.problem?.message ?? '', /^Plugin "broken" module "broken.wasm" is not valid WebAssembly: /);
  assert.deepEqual(list, [
    {
      name: 'broken',
      version: '0.1.0',
      description: 'Test plugin broken.',
      hostFunctions: ['log'],
      verified: false,
      problem: { code: 'PALYRA_TOOL_FAILED', message: list[0]?.problem?.message },
    },
    {
      name: 'word-count',
      version: '1.0.0',
      description: 'Counts the words in the string values of a JSON object, e.g. {"text":"hello world"} gives {"words":2}.',
      hostFunctions: ['log'],
      verified: true,
      problem: null,
    },
  ]);
  assert.deepEqual(await listPlugins(join(listDir, 'missing')), []);
});
