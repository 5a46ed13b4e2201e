import { applyV8Workarounds } from '../core/base/v8-workarounds.ts';
import { buildProgram, runProgram } from './program.ts';

applyV8Workarounds();

// The bundle's entry point: run the CLI and exit with its code once output is flushed.
runProgram(buildProgram(), process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`palyrad: internal error: ${String(error)}\n`);
    process.exitCode = 2;
  },
);
