import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(import.meta.dirname, '..', '..', 'cli', 'main.ts');
const TSX = import.meta.resolve('tsx');

/**
 * The environment a CLI child gets: this process's, without its PALYRA_* variables (an
 * operator's PALYRA_PORT, or the CI's own PALYRA_REQUIRE_BROWSER, would change what the
 * child does or prints), then NO_COLOR and `extra`. Tests name every PALYRA_* they mean.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PALYRA_')) env[name] = value;
  return { ...env, NO_COLOR: '1', ...extra };
}

/** The result of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `palyrad ARGS` from source and waits for it. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, ...args], {
    encoding: 'utf8',
    env: childEnv({ PALYRA_STATE_DIR: '', ...options.env }),
    input: options.input,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `palyrad ARGS` in the background (for `serve`). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `palyrad ARGS` with its stdout closed before it writes (a reader such as `head -1` that went away). */
export function runCliStdoutClosed(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    env: childEnv({ PALYRA_STATE_DIR: '' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}
