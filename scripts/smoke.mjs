// Smoke-tests the shipped artefacts the way a user runs them: each copied ALONE into an
// empty folder (so nothing can be read from node_modules or the source tree), with an
// empty HOME. Runs dist/palyrad.cjs under node and deno, and dist/palyrad (the single
// executable) when it exists and is not older than the bundle.
// Prints TAP-like lines (`ok - ...` / `not ok - ...`) and `N passed, N failed`.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bundle = join(root, 'dist', 'palyrad.cjs');
const sea = join(root, 'dist', 'palyrad');
const deno = join(root, 'node_modules', '.bin', 'deno');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Each target: the file to copy and how to run it from inside the empty folder. */
const targets = [
  { name: 'node', file: bundle, command: (f) => [process.execPath, f], runtime: 'node', sea: false },
  { name: 'deno', file: bundle, command: (f) => [deno, 'run', '-A', f], runtime: 'deno', sea: false },
];
if (existsSync(sea)) {
  if (!existsSync(bundle) || statSync(sea).mtimeMs >= statSync(bundle).mtimeMs) {
    targets.push({ name: 'sea', file: sea, command: (f) => [f], runtime: 'node', sea: true });
  } else {
    console.log('# skipping dist/palyrad: it is older than dist/palyrad.cjs (run `npm run build:bin`)');
  }
}

let passed = 0;
let failed = 0;

/**
 * Starts `serve --port 0`, fetches the web console's page and script, stops the daemon;
 * resolves like spawnSync with the fetched files as stdout. Checks that the embedded
 * console files are served by the artefact alone.
 */
async function serveConsole(command, env, cwd, state) {
  const [cmd, ...args] = command;
  const child = spawn(cmd, [...args, '--state', state, 'serve', '--port', '0'], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 60_000;
  let url = null;
  while (!url && Date.now() < deadline && child.exitCode === null) {
    url = /web console at (\S+)/.exec(stderr)?.[1] ?? null;
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  try {
    if (!url) return { status: child.exitCode, stdout: '', stderr, error: 'the daemon did not print "web console at"' };
    const page = await fetch(url);
    const script = await fetch(`${url}console/console.js`);
    return { status: page.status, stdout: `${page.headers.get('content-security-policy')}\n${await page.text()}\n${await script.text()}`, stderr };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** Runs one check; `expect` gets the parsed result and returns an error text or nothing. */
function check(what, result, expect) {
  let problem;
  try {
    problem = result.error ? String(result.error) : expect(result);
  } catch (error) {
    problem = String(error);
  }
  if (!problem) {
    passed++;
    console.log(`ok - ${what}`);
    return;
  }
  failed++;
  console.log(`not ok - ${what}: ${problem}`);
  const output = `exit ${result.status}${result.signal ? ` (${result.signal})` : ''}\n${result.stdout ?? ''}${result.stderr ?? ''}`;
  console.log(output.trimEnd().replace(/^/gm, '    '));
}

for (const target of targets) {
  if (!existsSync(target.file)) {
    check(`${target.name}: ${basename(target.file)} exists`, { status: null }, () => 'missing: run `npm run build` first');
    continue;
  }
  const dir = mkdtempSync(join(tmpdir(), `palyrad-smoke-${target.name}-`));
  try {
    const copy = join(dir, basename(target.file));
    copyFileSync(target.file, copy);
    const [cmd, ...pre] = target.command(copy);
    // A clean environment: no NODE_OPTIONS (a SEA rejects its code cache with some), no
    // state dir or colour settings from the caller, HOME inside the temp folder.
    const env = { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
    const runIn = (extraEnv, ...args) => spawnSync(cmd, [...pre, ...args], { cwd: dir, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
    const run = (...args) => runIn({}, ...args);
    const json = (r) => JSON.parse(r.stdout);
    const state = join(dir, 'state');

    check(`${target.name}: --version`, run('--version'), (r) =>
      r.status !== 0 || r.stdout.trim() !== version ? `expected "${version}" and exit 0` : undefined,
    );
    if (target.name === 'node') {
      // package.json's "bin": an installed `palyrad` is the bundle run through its hashbang.
      check('bundle run as a program (its #! line, as npm links it)', spawnSync(copy, ['--version'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 }), (r) =>
        r.status !== 0 || r.stdout.trim() !== version ? `expected "${version}" and exit 0` : undefined,
      );
    }
    check(`${target.name}: doctor --json`, run('doctor', '--json'), (r) => {
      const report = json(r);
      if (r.status !== 0 || report.ok !== true) return 'expected ok: true and exit 0';
      if (report.runtime.name !== target.runtime || report.runtime.sea !== target.sea) {
        return `expected runtime ${target.runtime} with sea ${target.sea}`;
      }
    });
    check(`${target.name}: journal append`, run('--state', state, 'journal', 'append', '--kind', 'smoke.test', '--payload', '{"n":1}'), (r) =>
      r.status !== 0 ? 'expected exit 0' : undefined,
    );
    // The daemon's writer thread (an eval'd worker), forced on for a one-shot append.
    check(
      `${target.name}: journal append on the writer thread`,
      runIn({ PALYRA_JOURNAL_WRITER_THREAD: 'on' }, '--state', state, 'journal', 'append', '--kind', 'smoke.test', '--payload', '{"n":2}'),
      (r) => (r.status !== 0 || !/^appended event 3 /.test(r.stdout) ? `expected "appended event 3 …" and exit 0, got ${JSON.stringify(r.stdout + r.stderr)}` : undefined),
    );
    check(`${target.name}: journal verify --json`, run('--state', state, 'journal', 'verify', '--json'), (r) => {
      const report = json(r);
      if (r.status !== 0 || report.ok !== true || report.events !== 3) return 'expected ok: true, events 3 and exit 0';
    });
    // A real Cedar decision with the embedded engine and the shipped policies.
    check(`${target.name}: policy eval --tool fs.write (ask)`, run('--state', state, 'policy', 'eval', '--tool', 'fs.write', '--json'), (r) => {
      const decision = json(r);
      if (r.status !== 3 || decision.decision !== 'ask') return 'expected decision "ask" and exit 3';
    });
    // The daemon serves the web console from files embedded in the artefact.
    check(`${target.name}: serve answers / with the web console`, await serveConsole(target.command(copy), env, dir, join(dir, 'console-state')), (r) =>
      r.status !== 200 || !r.stdout.startsWith("default-src 'self'") || !r.stdout.includes('<title>palyrad console</title>') || !r.stdout.includes('palyrad web console: plain DOM')
        ? 'expected 200 with the CSP, the page and its script'
        : undefined,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
