import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { startCli } from './cli.ts';

/** Daemons still running when a test fails are killed, so a failed assertion never hangs the run. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
test.afterEach(() => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  running.clear();
});

/** Starts `serve --port 0` and resolves with the port once it logs that it is serving. */
export function serve(root: string, extraArgs: string[] = []): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = startCli(['--state', root, 'serve', '--port', '0', ...extraArgs]);
    running.add(child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve({ child, port: Number(m[1]), stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
  });
}

/** Resolves once `check` holds (polled every 20 ms); throws after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with the exit code once the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}
