// Bundles the CLI into one self-contained CommonJS file: dist/palyrad.cjs.
//
// Why CommonJS: a Node 20 single executable needs a CJS main, and Deno runs a `.cjs`
// bundle as is. Why a plugin for the wasm: the bundle must run copied alone into an
// empty folder, so both engines are embedded (brotli + base64: 5 MB -> 1.6 MB of text)
// and decoded only when first used, so `palyrad --version` does not pay for them.
//
// Usage: `node build.mjs`, or `import { build } from './build.mjs'`. Same inputs give
// the same output; compressed wasm is cached by content hash because brotli quality 11
// takes ~12 s for cedar.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const cacheDir = join(root, 'node_modules', '.cache', 'palyrad-wasm');
const wasmAssetsModule = join(root, 'core', 'base', 'wasm-assets.ts');

/** The wasm files embedded, by the function name core/base/wasm-assets.ts exports. */
const WASM = {
  sqlJsWasm: 'node_modules/sql.js/dist/sql-wasm.wasm',
  cedarWasm: 'node_modules/@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm',
};

/** Brotli-compresses a file at maximum quality, reusing an earlier result with the same content. */
async function compressed(path) {
  const bytes = readFileSync(join(root, path));
  const cached = join(cacheDir, `${createHash('sha256').update(bytes).digest('hex')}.br`);
  try {
    return readFileSync(cached);
  } catch {
    const out = await promisify(brotliCompress)(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    });
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(cached, out);
    return out;
  }
}

/** Replaces core/base/wasm-assets.ts by a module that embeds the wasm files. */
const embedWasm = {
  name: 'embed-wasm',
  setup(build) {
    build.onLoad({ filter: /[\\/]core[\\/]base[\\/]wasm-assets\.ts$/ }, async (args) => {
      if (resolve(args.path) !== wasmAssetsModule) return undefined;
      // Compressed in parallel: brotli runs on libuv's thread pool.
      const entries = await Promise.all(
        Object.entries(WASM).map(async ([name, path]) => [name, (await compressed(path)).toString('base64')]),
      );
      const exports = entries.map(([name, b64]) => `export const ${name} = lazy(${JSON.stringify(b64)});`);
      const contents = [
        "import { brotliDecompressSync } from 'node:zlib';",
        '// Each file is decoded on its first call only, then cached.',
        'const lazy = (b64) => { let bytes; return () => (bytes ??= brotliDecompressSync(Buffer.from(b64, "base64"))); };',
        ...exports,
      ].join('\n');
      return { contents, loader: 'js', watchFiles: Object.values(WASM).map((p) => join(root, p)) };
    });
  },
};

/**
 * The web console's files (core/transport/console/assets/) become strings in the bundle:
 * core/transport/console/console-assets.ts reads them from disk under tsx, and is
 * replaced here by a module returning them, so the bundle serves the console alone.
 */
const consoleAssetsModule = join(root, 'core', 'transport', 'console', 'console-assets.ts');
const CONSOLE_FILES = ['index.html', 'console.js', 'console.css', 'favicon.svg'];

const embedConsole = {
  name: 'embed-console',
  setup(build) {
    build.onLoad({ filter: /[\\/]core[\\/]transport[\\/]console[\\/]console-assets\.ts$/ }, (args) => {
      if (resolve(args.path) !== consoleAssetsModule) return undefined;
      const paths = CONSOLE_FILES.map((name) => join(dirname(consoleAssetsModule), 'assets', name));
      const files = Object.fromEntries(CONSOLE_FILES.map((name, i) => [name, readFileSync(paths[i], 'utf8')]));
      return { contents: `const files = ${JSON.stringify(files)};\nexport function consoleAssets() { return files; }`, loader: 'js', watchFiles: paths };
    });
  },
};

/**
 * ws tries `require('bufferutil')` and `require('utf-8-validate')` (optional native
 * speed-ups) and falls back when they throw. Left external, a SEA prints a warning
 * because its require() only loads built-ins; so they become a module that throws.
 */
const stubOptionalNative = {
  name: 'stub-optional-native',
  setup(build) {
    build.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (args) => ({ path: args.path, namespace: 'optional-native' }));
    build.onLoad({ filter: /.*/, namespace: 'optional-native' }, (args) => ({
      contents: `throw Object.assign(new Error("Cannot find module '${args.path}'"), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
  },
};

/**
 * Worker threads in a single executable can only be started from code (`eval: true`),
 * so each `*-worker-source.ts` module is replaced by one returning its worker, bundled
 * into a string. The source versions load the worker's .ts file through tsx instead.
 */
const WORKERS = {
  'core/journal/verify-worker-source.ts': { entry: 'core/journal/verify-worker.ts', exportName: 'verifyWorkerSource' },
  'core/journal/writer-worker-source.ts': { entry: 'core/journal/writer-worker.ts', exportName: 'writerWorkerSource' },
};

const embedWorkers = {
  name: 'embed-workers',
  setup(build) {
    const filter = new RegExp(`(${Object.keys(WORKERS).map((p) => p.replace(/[/.]/g, (c) => (c === '/' ? '[\\\\/]' : '\\.'))).join('|')})$`);
    build.onLoad({ filter }, async (args) => {
      const key = Object.keys(WORKERS).find((k) => resolve(args.path) === join(root, k));
      if (!key) return undefined;
      const { entry, exportName } = WORKERS[key];
      const out = await esbuild.build({
        absWorkingDir: root,
        entryPoints: [entry],
        bundle: true,
        write: false,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        minify: true,
        legalComments: 'none',
        plugins: [stubOptionalNative],
        logLevel: 'error',
      });
      const code = out.outputFiles[0].text;
      return { contents: `export function ${exportName}() { return { code: ${JSON.stringify(code)} }; }`, loader: 'js', watchFiles: [join(root, entry)] };
    });
  },
};

/**
 * Builds dist/palyrad.cjs (or `entry` into `outfile`, for experiments); returns its path,
 * size in bytes and build time in ms.
 */
export async function build({ entry = 'cli/main.ts', outfile = join(root, 'dist', 'palyrad.cjs'), quiet = false } = {}) {
  const start = performance.now();
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    // package.json's "bin" points here: an installed `palyrad` is run by the shell, which
    // needs the hashbang (Node, Deno and the SEA all skip it).
    banner: { js: '#!/usr/bin/env node' },
    // package.json (imported by cli/version.ts) is inlined by esbuild's JSON loader.
    plugins: [embedWasm, embedWorkers, embedConsole, stubOptionalNative],
    logLevel: quiet ? 'error' : 'warning',
  });
  chmodSync(outfile, 0o755);
  const result = { outfile, bytes: statSync(outfile).size, ms: Math.round(performance.now() - start) };
  if (!quiet) console.log(`built ${outfile} (${(result.bytes / 1e6).toFixed(2)} MB) in ${result.ms} ms`);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  build().catch((error) => {
    // esbuild has already printed its diagnostics; only set the exit code.
    if (!error?.errors) console.error(error);
    process.exitCode = 1;
  });
}
