// Builds the example WebAssembly plugins from source: every fixtures/plugins/<name>/*.wat
// is compiled with wabt into <out>/<name>/<module>, and <out>/<name>/plugin.json is the
// source manifest with the module's sha256 filled in. The .wat source is the truth; the
// source manifests carry no sha256, so they cannot go stale.
//
// Usage: node scripts/build-plugins.mjs [OUT_DIR]      (default: dist/plugins)
// Or:    import { buildPlugins } from './scripts/build-plugins.mjs'
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import wabtInit from 'wabt';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** Compiles WebAssembly text to a validated binary; `filename` is used in error messages. */
export async function compileWat(text, filename = 'module.wat') {
  const wabt = await wabtInit();
  const module = wabt.parseWat(filename, text);
  try {
    module.resolveNames();
    module.validate();
    return Uint8Array.from(module.toBinary({ canonicalize_lebs: true }).buffer);
  } finally {
    module.destroy();
  }
}

/**
 * Builds every plugin under `sourceDir` into `outDir`; returns one entry per plugin
 * ({ name, module, sha256, bytes }), sorted by name.
 */
export async function buildPlugins({ sourceDir = join(root, 'fixtures', 'plugins'), outDir = join(root, 'dist', 'plugins') } = {}) {
  const built = [];
  const names = readdirSync(sourceDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const name of names) {
    const dir = join(sourceDir, name);
    const manifest = JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8'));
    const watName = `${basename(manifest.module, '.wasm')}.wat`;
    const watFiles = readdirSync(dir).filter((f) => f.endsWith('.wat'));
    if (!watFiles.includes(watName)) throw new Error(`Cannot build plugin "${name}": no ${watName} for module "${manifest.module}"`);
    const bytes = await compileWat(readFileSync(join(dir, watName), 'utf8'), join(dir, watName));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const out = join(outDir, name);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, manifest.module), bytes);
    // Keep the source's field order, with sha256 right after module.
    const withHash = {};
    for (const [key, value] of Object.entries(manifest)) {
      if (key === 'sha256') continue;
      withHash[key] = value;
      if (key === 'module') withHash.sha256 = sha256;
    }
    writeFileSync(join(out, 'plugin.json'), `${JSON.stringify(withHash, null, 2)}\n`);
    built.push({ name, module: manifest.module, sha256, bytes: bytes.length });
  }
  return built;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = resolve(process.argv[2] ?? join(root, 'dist', 'plugins'));
  buildPlugins({ outDir }).then(
    (built) => {
      for (const p of built) console.log(`built ${join(outDir, p.name, p.module)} (${p.bytes} bytes, sha256 ${p.sha256})`);
    },
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
