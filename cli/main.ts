import './colour-env.ts';
import { applyV8Workarounds } from '../core/base/v8-workarounds.ts';
import { buildProgram, runProgram } from './program.ts';

applyV8Workarounds();

// A reader that stops early (`palyrad … | head -1`) closes stdout: that is not an error of
// the command, so it exits quietly with the code it has so far, whatever command wrote.
// Other stdout errors stay loud. (Logs of `serve` go to stderr, so it is unaffected.)
// "So far": the command's own record of its exit code, which an action sets the moment
// it fails; `process.exitCode` is only set once the whole program has returned.
const program = buildProgram();
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  const soFar = typeof process.exitCode === 'number' ? process.exitCode : program.run.exitCode;
  process.exit(soFar);
});

// The bundle's entry point: run the CLI and exit with its code once output is flushed.
runProgram(program, process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`palyrad: internal error: ${String(error)}\n`);
    process.exitCode = 2;
  },
);
