// Runs every unit and integration test: *.test.ts under core/, cli/ and test/, sorted.
//
// Extra arguments that do not start with "-" are path prefixes that filter the files
// (`npm run test:unit -- core/journal`); the others go to node (`--test-name-pattern=x`).
// Exits non-zero when nothing matches, so a typo never passes as a green run.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const ROOTS = ['core', 'cli', 'test'];

// A net under every test: one that hangs fails after this long instead of holding CI (the
// slowest, the crash tests, take about a minute; tests may set their own, shorter, limits).
const PER_TEST_TIMEOUT_MS = 300_000;

const args = process.argv.slice(2);
const nodeFlags = args.filter((a) => a.startsWith('-'));
const prefixes = args.filter((a) => !a.startsWith('-')).map((p) => p.replace(/^\.\//, '').split(sep).join('/'));

const files = ROOTS.filter((dir) => existsSync(join(root, dir)))
  .flatMap((dir) => readdirSync(join(root, dir), { recursive: true }).map((f) => `${dir}/${String(f).split(sep).join('/')}`))
  .filter((f) => f.endsWith('.test.ts') && !f.includes('/node_modules/'))
  .filter((f) => prefixes.length === 0 || prefixes.some((p) => f.startsWith(p)))
  .sort();

if (files.length === 0) {
  console.error(`run-tests: no *.test.ts file found${prefixes.length ? ` under ${prefixes.join(', ')}` : ''}`);
  process.exit(1);
}

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${PER_TEST_TIMEOUT_MS}`, ...nodeFlags, ...files], {
  cwd: root,
  stdio: 'inherit',
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
