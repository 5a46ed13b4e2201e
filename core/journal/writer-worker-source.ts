/**
 * Where the writer thread's code comes from. build.mjs replaces this module in the bundle
 * with one that returns the worker bundled into a string (a single executable can only
 * start eval'd workers). From source (tests, benchmarks under tsx) the worker registers
 * tsx itself and imports the TypeScript file beside this one: a worker does not inherit
 * its parent's `--import tsx` loader.
 */
export function writerWorkerSource(): { code: string } | { url: URL } {
  const entry = JSON.stringify(new URL('./writer-worker.ts', import.meta.url).href);
  return { code: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })` };
}
