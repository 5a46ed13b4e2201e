import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { pidDir } from '../process/pid-files.ts';
import { ToolRegistry } from '../registry.ts';
import type { ToolContext, ToolResult } from '../tool.ts';
import { createProcessRunTool, type ProcessRunOptions } from './process-run.ts';

function setUp(options: Partial<ProcessRunOptions> = {}, context = toolContext()) {
  const registry = new ToolRegistry();
  registry.register(createProcessRunTool({ allowedExecutables: ['sh', 'echo', 'cat', 'env', 'touch', 'sleep', process.execPath], killGraceMs: 200, ...options }));
  return { context, ws: context.workspace, run: (input: unknown, ctx: ToolContext = context) => registry.invoke('process.run', input, ctx) };
}

const outputOf = (r: ToolResult) => (r.ok ? r.output : r.error);

test('runs an allowed program and reports exit code, signal and output; the PID file is removed', async () => {
  const { context, run } = setUp();
  const expected = { exitCode: 0, signal: null, stdout: 'hello world\n', stderr: '', stdoutBytes: 12, stderrBytes: 0, stdoutTruncated: false, stderrTruncated: false };
  assert.deepEqual(outputOf(await run({ argv: ['echo', 'hello', 'world'] })), expected);
  assert.deepEqual(outputOf(await run({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] })), {
    ...expected,
    exitCode: 3,
    stdout: 'out\n',
    stderr: 'err\n',
    stdoutBytes: 4,
    stderrBytes: 4,
  });
  assert.deepEqual(outputOf(await run({ argv: ['sh', '-c', 'kill -KILL $$'] })), { ...expected, exitCode: null, signal: 'SIGKILL', stdout: '', stdoutBytes: 0 });
  assert.deepEqual(outputOf(await run({ argv: ['cat'], stdin: 'from stdin' })), { ...expected, stdout: 'from stdin', stdoutBytes: 10 });
  assert.deepEqual(readdirSync(pidDir(context.stateDir)), []);
});

test('cwd is confined to the workspace and HOME is the workspace', async () => {
  const { ws, run } = setUp();
  mkdirSync(join(ws, 'sub'));
  assert.deepEqual(outputOf(await run({ argv: ['sh', '-c', 'pwd; echo $HOME'], cwd: 'sub' })), {
    exitCode: 0, signal: null, stdout: `${join(ws, 'sub')}\n${ws}\n`, stderr: '', stdoutBytes: ws.length * 2 + 6, stderrBytes: 0, stdoutTruncated: false, stderrTruncated: false,
  });
});

test('bad or forbidden input is refused and nothing is spawned', async () => {
  const { context, ws, run } = setUp({ allowedEnvKeys: ['TZ'] });
  mkdirSync(join(ws, 'bin'));
  writeFileSync(join(ws, 'file.txt'), '');
  const touch = ['touch', 'ran.txt'];
  const cases: [unknown, string, string][] = [
    [{}, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /argv is required'],
    [{ argv: [] }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /argv must NOT have fewer than 1 items'],
    [{ argv: 'touch ran.txt' }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /argv must be array'],
    [{ argv: ['touch', 7] }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /argv/1 must be string'],
    [{ argv: ['touch', 'a\0b'] }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /argv/1 must match pattern "^[^\\u0000]*$"'],
    [{ argv: touch, shell: true }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /shell is not allowed'],
    [{ argv: touch, timeoutMs: 0 }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /timeoutMs must be >= 1'],
    [{ argv: touch, timeoutMs: 120_001 }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /timeoutMs must be <= 120000'],
    [{ argv: touch, env: { 'BAD-NAME': 'x' } }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /env key "BAD-NAME" must match pattern "^[A-Za-z_][A-Za-z0-9_]*$"'],
    [{ argv: touch, env: { TZ: 1 } }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /env/TZ must be string'],
    [{ argv: ['touch', 'x'.repeat(300_000)] }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /argv/1 must NOT have more than 131072 characters'],
    [{ argv: Array(2000).fill('touch') }, 'PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /argv must NOT have more than 1024 items'],
    [{ argv: ['rm', '-rf', '.'] }, 'PALYRA_TOOL_FORBIDDEN', 'Executable "rm" is refused: it is not on the allowlist'],
    [{ argv: ['/usr/bin/rm', 'x'] }, 'PALYRA_TOOL_FORBIDDEN', 'Executable "/usr/bin/rm" is refused: it is not on the allowlist'],
    [{ argv: ['./touch', 'x'] }, 'PALYRA_TOOL_FORBIDDEN', 'Executable "./touch" is refused: give a bare name or an absolute path'],
    [{ argv: ['bin/touch', 'x'] }, 'PALYRA_TOOL_FORBIDDEN', 'Executable "bin/touch" is refused: give a bare name or an absolute path'],
    [{ argv: ['', 'x'] }, 'PALYRA_TOOL_FORBIDDEN', 'Executable "" is refused: it is not on the allowlist'],
    [{ argv: touch, env: { LD_PRELOAD: '/tmp/x.so' } }, 'PALYRA_TOOL_FORBIDDEN', 'Environment variable "LD_PRELOAD" is refused: it is not on the allowlist (allowed: TZ)'],
    [{ argv: touch, cwd: '..' }, 'PALYRA_TOOL_FORBIDDEN', 'Path ".." is refused: ".." segments are not allowed'],
    [{ argv: touch, cwd: context.outside }, 'PALYRA_TOOL_FORBIDDEN', `Path "${context.outside}" is refused: it is an absolute path outside the workspace`],
    [{ argv: touch, cwd: 'file.txt' }, 'PALYRA_TOOL_FORBIDDEN', 'Working directory "file.txt" is refused: it is not a directory in the workspace'],
    [{ argv: touch, cwd: 'missing' }, 'PALYRA_TOOL_FORBIDDEN', 'Working directory "missing" is refused: it is not a directory in the workspace'],
  ];
  for (const [input, code, message] of cases) assert.deepEqual(outputOf(await run(input)), { code, message });
  assert.equal(existsSync(join(ws, 'ran.txt')), false);
  assert.equal(existsSync(join(context.outside, 'ran.txt')), false);
  assert.equal(existsSync(pidDir(context.stateDir)), false, 'no process was ever spawned');
});

test('stdin is capped in bytes, not characters: multi-byte input past the cap is refused and nothing runs', async () => {
  const { context, ws, run } = setUp({ maxStdinBytes: 8 });
  // Five two-byte characters: within the schema's 8 characters, but 10 bytes.
  assert.deepEqual(outputOf(await run({ argv: ['touch', 'ran.txt'], stdin: 'ééééé' })), {
    code: 'PALYRA_TOOL_INPUT_INVALID',
    message: 'Invalid input for "process.run": /stdin is longer than 8 bytes',
  });
  assert.equal(existsSync(join(ws, 'ran.txt')), false);
  assert.equal(existsSync(pidDir(context.stateDir)), false, 'no process was ever spawned');
  const exact = await run({ argv: ['cat'], stdin: 'éééé' });
  assert.ok(exact.ok);
  assert.equal((exact.output as Record<string, unknown>)['stdout'], 'éééé');
});

test('a program planted inside the workspace never runs, even when the search path reaches it', async () => {
  const context = toolContext();
  mkdirSync(join(context.workspace, 'bin'));
  writeFileSync(join(context.workspace, 'bin', 'tool'), '#!/bin/sh\ntouch "$HOME/pwned"\n');
  chmodSync(join(context.workspace, 'bin', 'tool'), 0o755);
  const { run } = setUp({ allowedExecutables: ['tool'], searchPath: `${join(context.workspace, 'bin')}:/usr/bin` }, context);
  assert.deepEqual(outputOf(await run({ argv: ['tool'] })), { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Executable "tool" is refused: it lies inside the workspace' });
  assert.equal(existsSync(join(context.workspace, 'pwned')), false);
});

test('a malformed allowlist or search path is refused when the tool is made', () => {
  const invalid = (message: string) => (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_INVALID_ARGUMENT' && e.message === message;
  assert.throws(() => createProcessRunTool({ allowedExecutables: ['bin/sh'] }), invalid('Executable "bin/sh" cannot be allowed: list a bare name or an absolute path'));
  assert.throws(() => createProcessRunTool({ allowedExecutables: ['sh'], searchPath: 'bin:/usr/bin' }), invalid('Search path entry "bin" must be absolute'));
});

test('the daemon\'s environment never reaches the child', async () => {
  const { ws, run } = setUp({ allowedEnvKeys: ['TZ'] });
  process.env['PALYRA_TEST_SECRET'] = 'sk-test-do-not-leak-0123456789';
  try {
    const viaEnv = await run({ argv: ['env'], env: { TZ: 'Europe/Paris' } });
    assert.ok(viaEnv.ok);
    const stdout = String((viaEnv.output as Record<string, unknown>)['stdout']);
    assert.ok(!stdout.includes('sk-test-do-not-leak'));
    const env = Object.fromEntries(stdout.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    assert.deepEqual(env, { HOME: ws, PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TZ: 'Europe/Paris' });

    const viaNode = await run({ argv: [process.execPath, '-e', 'console.log(JSON.stringify(process.env))'] });
    assert.ok(viaNode.ok);
    const seen = JSON.parse(String((viaNode.output as Record<string, unknown>)['stdout'])) as Record<string, string>;
    assert.equal(seen['PALYRA_TEST_SECRET'], undefined);
    assert.deepEqual(Object.keys(seen).sort(), ['HOME', 'LANG', 'LC_ALL', 'PATH', 'TZ']);
  } finally {
    delete process.env['PALYRA_TEST_SECRET'];
  }
});

test('output past the cap is truncated and marked, and the rest is drained', async () => {
  const { run } = setUp({ maxOutputBytes: 1000 });
  const r = await run({ argv: ['sh', '-c', 'head -c 20000000 /dev/zero | tr "\\0" a; printf "é%.0s" $(seq 600) >&2'] });
  assert.deepEqual(outputOf(r), {
    exitCode: 0,
    signal: null,
    stdout: 'a'.repeat(1000),
    // 1000 bytes of two-byte characters: the cut falls between characters.
    stderr: 'é'.repeat(500),
    stdoutBytes: 20_000_000,
    stderrBytes: 1200,
    stdoutTruncated: true,
    stderrTruncated: true,
  });
});

test('a program that cannot start is a PALYRA_TOOL_FAILED result and leaves no PID file', async () => {
  const context = toolContext();
  const script = join(context.outside, 'broken');
  writeFileSync(script, '#!/nonexistent/interpreter\n');
  chmodSync(script, 0o755);
  const { run } = setUp({ allowedExecutables: [script] }, context);
  assert.deepEqual(outputOf(await run({ argv: [script] })), { code: 'PALYRA_TOOL_FAILED', message: `Cannot start "${script}": ENOENT` });
  assert.deepEqual(readdirSync(pidDir(context.stateDir)), []);
});
