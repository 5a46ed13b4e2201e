// `npm start [-- args]`: runs the daemon (`palyrad serve args`) from the bundle, building
// it first when it is missing or older than any source file, so what runs is what ships.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../build.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bundle = join(root, 'dist', 'palyrad.cjs');

/** Newest modification time among the inputs of the bundle (tests are not inputs). */
function newestSource() {
  const sources = ['cli', 'core'].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true })
      .map(String)
      .filter((f) => !f.endsWith('.test.ts'))
      .map((f) => join(root, dir, f)),
  );
  sources.push(join(root, 'package.json'), join(root, 'build.mjs'));
  return Math.max(...sources.map((f) => statSync(f).mtimeMs));
}

if (!existsSync(bundle) || statSync(bundle).mtimeMs < newestSource()) await build();

// Detached = its own process group, so a terminal Ctrl-C reaches only this script, which
// forwards it once. Without that the daemon would get SIGINT twice, and serve treats a
// second signal as "die now" (its handler is removed after the first). stdin is ignored
// because a background process group reading the terminal would be stopped (SIGTTIN).
const child = spawn(process.execPath, [bundle, 'serve', ...process.argv.slice(2)], {
  cwd: process.cwd(),
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
// A closed terminal (SIGHUP) would otherwise leave the detached daemon running unseen;
// ask it to stop cleanly instead.
process.on('SIGHUP', () => child.kill('SIGTERM'));
// The same when whatever started this script dies without passing a signal on: `sh -c`
// under npm when it does not exec (package.json's start script does exec, so npm's
// SIGTERM reaches this script), a supervisor's shell. This script is then re-parented;
// the detached daemon would keep running unseen, holding the state lock. Node has no
// parent-death signal (prctl PR_SET_PDEATHSIG) and no pipe from the parent to watch, so
// poll; a re-parented process never gets its old parent back.
const parent = process.ppid;
const parentWatch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(parentWatch);
  child.kill('SIGTERM');
}, 500);
parentWatch.unref();
child.on('error', (error) => {
  console.error(`start: cannot run ${bundle}: ${error.message}`);
  process.exit(2);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
