// Escape attempts against plugin.run: each must be stopped or refused, and reported with
// a stable code. Evil plugins are built here from .wat source with wabt.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.ts';
import { PalyraError, type JsonValue } from '../../base/index.ts';
import { loadPlugin } from './plugin-loader.ts';
import { createPluginRunTool } from './plugin-run-tool.ts';
import { pluginWorkerCounts } from './plugin-worker.ts';
import { installPlugin, toolContext, watModule } from './test-support.ts';

const dir = tempDir('palyra-plugins-');
const tool = createPluginRunTool({ pluginsDir: dir });

/** Calls plugin.run and returns the error as plain data, with the elapsed time. */
async function refused(plugin: string, options: { signal?: AbortSignal; input?: JsonValue } = {}): Promise<{ code: string; message: string; ms: number }> {
  const start = performance.now();
  try {
    await tool.run({ plugin, input: options.input ?? {} }, toolContext(dir, options.signal));
  } catch (error) {
    assert.ok(error instanceof PalyraError, String(error));
    return { code: error.code, message: error.message, ms: performance.now() - start };
  }
  assert.fail(`plugin "${plugin}" was not refused`);
}

const LOOP = watModule('(func (export "run") (param i32 i32) (result i64) (loop $l (br $l)) unreachable)');

/** Tests of code that never ends on its own: a broken limit must fail them, not hang the run. */
const LOOP_TEST_TIMEOUT_MS = 30_000;

// A plugin worker still spinning after the last test (a broken limit or terminate) would keep
// this file's process alive for ever; a healthy run exits on its own before this fires.
after(() => {
  setTimeout(() => {
    process.stderr.write('plugin-sandbox: a plugin worker outlived the tests; exiting\n');
    process.exit(1);
  }, 2_000).unref();
});

test('an infinite loop is stopped at the time limit and its worker is gone', { timeout: LOOP_TEST_TIMEOUT_MS }, async () => {
  await installPlugin(dir, 'spin', { wat: LOOP, manifest: { limits: { memoryPages: 16, timeoutMs: 300 } } });
  const { code, message, ms } = await refused('spin');
  assert.deepEqual({ code, message }, { code: 'PALYRA_TOOL_TIMEOUT', message: 'Plugin "spin" exceeded its time limit of 300 ms and was stopped' });
  assert.ok(ms >= 300 && ms < 3000, `took ${ms} ms`);
  // Settled only after the thread exited: nothing is left running.
  assert.equal(pluginWorkerCounts().live, 0);
});

test("the manifest's time limit is capped by the tool's", { timeout: LOOP_TEST_TIMEOUT_MS }, async () => {
  const capped = createPluginRunTool({ pluginsDir: dir, timeoutMs: 200 });
  await installPlugin(dir, 'spin-long', { wat: LOOP, manifest: { limits: { memoryPages: 16, timeoutMs: 600_000 } } });
  await assert.rejects(capped.run({ plugin: 'spin-long', input: null }, toolContext(dir)), {
    code: 'PALYRA_TOOL_TIMEOUT',
    message: 'Plugin "spin-long" exceeded its time limit of 200 ms and was stopped',
  });
  assert.equal(pluginWorkerCounts().live, 0);
});

test('cancelling through the AbortSignal terminates the worker', { timeout: LOOP_TEST_TIMEOUT_MS }, async () => {
  await installPlugin(dir, 'spin-cancel', { wat: LOOP });
  const controller = new AbortController();
  // Abort once the worker is really running (a fixed delay can fire before it starts on a loaded machine).
  const poll = setInterval(() => {
    if (pluginWorkerCounts().live > 0) {
      clearInterval(poll);
      setTimeout(() => controller.abort(), 50);
    }
  }, 10);
  const { code, message, ms } = await refused('spin-cancel', { signal: controller.signal }).finally(() => clearInterval(poll));
  assert.deepEqual({ code, message }, { code: 'PALYRA_TOOL_CANCELLED', message: 'Plugin "spin-cancel" was cancelled and stopped' });
  assert.ok(ms < 2000, `took ${ms} ms, the default limit is 5000`);
  assert.equal(pluginWorkerCounts().live, 0);
  const started = pluginWorkerCounts().started;
  assert.equal((await refused('spin-cancel', { signal: AbortSignal.abort() })).code, 'PALYRA_TOOL_CANCELLED');
  assert.equal(pluginWorkerCounts().started, started, 'an already aborted call starts no worker');
});

test('a memory bomb that traps when growth fails is reported as a limit', async () => {
  const bomb = watModule(
    `(func (export "run") (param i32 i32) (result i64)
       (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
       unreachable)`,
  );
  await installPlugin(dir, 'bomb', { wat: bomb });
  const { code, message } = await refused('bomb');
  assert.equal(code, 'PALYRA_TOOL_LIMIT_EXCEEDED');
  assert.match(message, /^Plugin "bomb" trapped after growing its memory to the limit of 16 pages: /);
});

test('a memory bomb that keeps growing after failure never passes the cap and is stopped by the clock', { timeout: LOOP_TEST_TIMEOUT_MS }, async () => {
  const bomb = watModule('(func (export "run") (param i32 i32) (result i64) (loop $l (drop (memory.grow (i32.const 1))) (br $l)) unreachable)');
  await installPlugin(dir, 'bomb-spin', { wat: bomb, manifest: { limits: { memoryPages: 16, timeoutMs: 300 } } });
  assert.equal((await refused('bomb-spin')).code, 'PALYRA_TOOL_TIMEOUT');
  assert.equal(pluginWorkerCounts().live, 0);
});

test('unbounded or oversized memory is refused before running', async () => {
  const started = pluginWorkerCounts().started;
  await installPlugin(dir, 'no-max', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)', { memory: '1' }) });
  assert.deepEqual(await refusedData('no-max'), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Plugin "no-max" declares its memory without a maximum; declare one of at most 16 pages',
  });
  await installPlugin(dir, 'big-max', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)', { memory: '1 65536' }) });
  assert.deepEqual(await refusedData('big-max'), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Plugin "big-max" declares a memory maximum of 65536 pages, above its limit of 16 pages',
  });
  await installPlugin(dir, 'big-table', { wat: watModule('(table 1 funcref) (func (export "run") (param i32 i32) (result i64) i64.const 0)') });
  assert.deepEqual(await refusedData('big-table'), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Plugin "big-table" declares a table with no maximum or one above 100000 elements',
  });
  assert.equal(pluginWorkerCounts().started, started);
});

test('the host\'s memory cap holds even when a manifest asks for more', async () => {
  const started = pluginWorkerCounts().started;
  await installPlugin(dir, 'greedy', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)', { memory: '1 512' }), manifest: { limits: { memoryPages: 1024 } } });
  await assert.rejects(loadPlugin(dir, 'greedy'), (e: unknown) =>
    e instanceof PalyraError && e.code === 'PALYRA_TOOL_FORBIDDEN' && e.message === 'Plugin "greedy" declares a memory maximum of 512 pages, above its limit of 256 pages',
  );
  assert.equal((await loadPlugin(dir, 'greedy', { maxMemoryPages: 600 })).memoryMaxPages, 512);
  // The tool passes its own, lower cap on.
  await installPlugin(dir, 'modest', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)', { memory: '1 12' }) });
  const small = createPluginRunTool({ pluginsDir: dir, maxMemoryPages: 8 });
  await assert.rejects(small.run({ plugin: 'modest', input: {} }, toolContext(dir)), (e: unknown) =>
    e instanceof PalyraError && e.code === 'PALYRA_TOOL_FORBIDDEN' && e.message === 'Plugin "modest" declares a memory maximum of 12 pages, above its limit of 8 pages',
  );
  assert.equal(pluginWorkerCounts().started, started);
});

test('many tables, or tables too large in total, are refused before running', async () => {
  const started = pluginWorkerCounts().started;
  const run = '(func (export "run") (param i32 i32) (result i64) i64.const 0)';
  // Each table is within the per-table cap; 200 of them took seconds and ~600 MB to instantiate.
  await installPlugin(dir, 'many-tables', { wat: watModule(run + '(table 100000 100000 funcref)'.repeat(200)) });
  assert.deepEqual(await refusedData('many-tables'), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Plugin "many-tables" declares 200 tables, above the limit of 16',
  });
  await installPlugin(dir, 'wide-tables', { wat: watModule(run + '(table 1 60000 funcref)'.repeat(2)) });
  assert.deepEqual(await refusedData('wide-tables'), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Plugin "wide-tables" declares tables of 120000 elements in total, above the limit of 100000',
  });
  await installPlugin(dir, 'deep-tables', { wat: watModule(run + '(table 60000 60000 funcref)'.repeat(2)) });
  assert.equal((await refusedData('deep-tables')).message, 'Plugin "deep-tables" declares tables of 120000 elements in total, above the limit of 100000');
  assert.equal(pluginWorkerCounts().started, started);
  // Within both caps a module with several tables still loads.
  await installPlugin(dir, 'some-tables', { wat: watModule(run + '(table 1 50000 funcref)'.repeat(2)) });
  assert.equal((await loadPlugin(dir, 'some-tables')).manifest.name, 'some-tables');
});

test('a module importing an ungranted host function is refused without running', async () => {
  const started = pluginWorkerCounts().started;
  const imports = '(import "palyra" "random_u32" (func $r (result i32)))';
  await installPlugin(dir, 'greedy', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)', { imports }) });
  assert.deepEqual(await refusedData('greedy'), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Plugin "greedy" imports host function "random_u32", which its manifest does not grant (hostFunctions)',
  });
  const foreign = '(import "env" "abort" (func $a))';
  await installPlugin(dir, 'foreign', { wat: watModule('(func (export "run") (param i32 i32) (result i64) i64.const 0)', { imports: foreign }) });
  assert.equal((await refusedData('foreign')).code, 'PALYRA_TOOL_FORBIDDEN');
  assert.match((await refusedData('foreign')).message, /imports "env"\."abort" \(function\), which is not a host function/);
  assert.equal(pluginWorkerCounts().started, started);
});

test('a module whose sha256 does not match its manifest is refused', async () => {
  const { dir: pluginDir, sha256 } = await installPlugin(dir, 'tampered', { wat: LOOP });
  const wasm = join(pluginDir, 'tampered.wasm');
  const bytes = readFileSync(wasm);
  writeFileSync(wasm, Buffer.concat([bytes, Buffer.from([0, 1, 0])])); // an extra custom section
  const { code, message } = await refusedData('tampered');
  assert.equal(code, 'PALYRA_TOOL_FORBIDDEN');
  assert.match(message, new RegExp(`^Plugin "tampered" module "tampered.wasm" does not match its manifest: sha256 is [0-9a-f]{64}, the manifest says ${sha256}$`));
});

test('output past the cap is refused', async () => {
  const big = watModule('(func (export "run") (param i32 i32) (result i64) (i64.const 0x200000))', { memory: '40 40' });
  await installPlugin(dir, 'chatty', { wat: big, manifest: { limits: { memoryPages: 40 } } });
  assert.deepEqual(await refusedData('chatty'), {
    code: 'PALYRA_TOOL_LIMIT_EXCEEDED',
    message: 'Plugin "chatty" output is 2097152 bytes, above the limit of 1048576',
  });
});

test('output that is not JSON, or lies outside memory, fails the call', async () => {
  const notJson = watModule('(data (i32.const 0) "not json") (func (export "run") (param i32 i32) (result i64) (i64.const 8))');
  await installPlugin(dir, 'garbled', { wat: notJson });
  const garbled = await refusedData('garbled');
  assert.equal(garbled.code, 'PALYRA_TOOL_FAILED');
  assert.match(garbled.message, /^Plugin "garbled" failed: output is not valid JSON: /);
  const outside = watModule('(func (export "run") (param i32 i32) (result i64) (i64.const 0x0010000000000010))');
  await installPlugin(dir, 'wild', { wat: outside });
  assert.deepEqual(await refusedData('wild'), {
    code: 'PALYRA_TOOL_FAILED',
    message: `Plugin "wild" failed: output (${0x100000}, 16 bytes) lies outside the plugin's memory`,
  });
});

test('a trap is a failure with the reason, and the worker still ends', async () => {
  await installPlugin(dir, 'trap', { wat: watModule('(func (export "run") (param i32 i32) (result i64) unreachable)') });
  const { code, message } = await refusedData('trap');
  assert.deepEqual({ code, message: message.replace(/: .*/, ': …') }, { code: 'PALYRA_TOOL_FAILED', message: 'Plugin "trap" trapped: …' });
  assert.equal(pluginWorkerCounts().live, 0);
});

test('unbounded recursion is stopped at the stack limit', { timeout: LOOP_TEST_TIMEOUT_MS }, async () => {
  await installPlugin(dir, 'deep', { wat: watModule('(func $run (export "run") (param i32 i32) (result i64) (call $run (local.get 0) (local.get 1)))') });
  const { code, message } = await refusedData('deep');
  assert.deepEqual({ code, message: message.replace(/: .*/, ': …') }, { code: 'PALYRA_TOOL_LIMIT_EXCEEDED', message: 'Plugin "deep" exceeded the stack limit: …' });
});

async function refusedData(plugin: string): Promise<{ code: string; message: string }> {
  const { code, message } = await refused(plugin);
  return { code, message };
}
