/**
 * The web console's files: one page, one script, one stylesheet and an icon (core/transport/console/assets/).
 *
 * This is the source version, used under tsx: it reads the files beside this module.
 * build.mjs replaces this whole module in the bundle by one that embeds the files as
 * strings, so the bundle serves the console with no files beside it (Node, Deno, SEA).
 * Invariant: both versions export the same function returning the same names.
 */
import { readFileSync } from 'node:fs';

/** The console's files by the name they are served under. */
export interface ConsoleAssetFiles {
  'index.html': string;
  'console.js': string;
  'console.css': string;
  'favicon.svg': string;
}

let cached: ConsoleAssetFiles | undefined;

/** The console's files, read once and cached. */
export function consoleAssets(): ConsoleAssetFiles {
  const read = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
  cached ??= { 'index.html': read('index.html'), 'console.js': read('console.js'), 'console.css': read('console.css'), 'favicon.svg': read('favicon.svg') };
  return cached;
}
