// Builds dist/palyrad, a Node single executable application (SEA) wrapping dist/palyrad.cjs.
//
// Steps (Node 20 SEA): write a blob from the CJS bundle, copy this node binary, strip it
// (-12 MB, still works), inject the blob with postject. Run `npm run build` first.
// Linux only: macOS would need `--macho-segment-name NODE_SEA` and re-signing.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bundle = join(root, 'dist', 'palyrad.cjs');
const target = join(root, 'dist', 'palyrad');
// The sentinel Node's SEA loader looks for; fixed for every Node version that has SEA.
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const start = performance.now();
if (!existsSync(bundle)) {
  console.error(`build-sea: ${bundle} is missing: run 'npm run build' first`);
  process.exit(2);
}
// A temp dir under dist/ keeps the final rename on one file system (atomic).
const work = mkdtempSync(join(root, 'dist', '.sea-'));
try {
  const run = (file, args) => execFileSync(file, args, { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] });
  copyFileSync(bundle, join(work, 'palyrad.cjs'));
  const config = { main: 'palyrad.cjs', output: 'sea-prep.blob', disableExperimentalSEAWarning: true, useCodeCache: true };
  writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config));
  run(process.execPath, ['--experimental-sea-config', 'sea-config.json']);

  const exe = join(work, 'palyrad');
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755); // the copy must be writable for strip and postject
  const stripped = spawnSync('strip', [exe], { stdio: 'inherit' });
  if (stripped.error) console.log('build-sea: strip not found; keeping the unstripped binary');
  else if (stripped.status !== 0) throw new Error(`strip failed with exit code ${stripped.status}`);

  // postject prints harmless "Can't find string offset for section name" warnings.
  const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  run(process.execPath, [postject, exe, 'NODE_SEA_BLOB', 'sea-prep.blob', '--sentinel-fuse', FUSE]);
  renameSync(exe, target);
} finally {
  rmSync(work, { recursive: true, force: true });
}
const ms = Math.round(performance.now() - start);
console.log(`built ${target} (${(statSync(target).size / 1e6).toFixed(1)} MB) in ${ms} ms`);
