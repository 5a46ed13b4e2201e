import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ioError, PalyraError, writeFileAtomic } from '../../core/base/index.ts';
import type { ReplayOptions, TapeFileEvent } from '../../core/agent/index.ts';
import type { StatePaths } from '../../core/daemon/state-dir.ts';
import { journalPaths, readOrigin } from '../../core/journal/index.ts';
import { jsonOption, printJson, printText, reportError } from '../output.ts';
import { action, type CliRun } from '../program.ts';
import { readableState } from '../state.ts';
import { replaySummary, runTable, timeline } from '../tape-render.ts';


// Loaded on use: the agent machinery pulls in the providers and the tool runtime (undici,
// Ajv), and replay with --policies the Cedar engine; other commands should not pay for them.
const agent = () => import('../../core/agent/index.ts');
const runTapes = () => import('../../core/gateway/run-tape.ts');

/** Registers `palyrad tape ...`. */
export function registerTapeCommands(program: Command, run: CliRun): void {
  const tape = program
    .command('tape')
    .description("list, show, export and replay runs' tapes (read-only: works offline, beside a running daemon)");

  tape
    .command('list')
    .description('list the runs that have a tape in the journal, oldest first')
    .option('--session <id>', 'only the runs of this session')
    .addOption(jsonOption())
    .addHelpText('after', '\nJSON: {"runs":[{runId, sessionId, model, providerId, startedAt, state, reason, steps, firstSeq, lastSeq}]}; state and reason are null while a run is unfinished.\nExit codes: 0 listed (also when there are none), 2 usage or I/O error.')
    .action(
      action(run, async (opts: { session?: string; json?: boolean }, cmd: Command) => {
        const paths = readableState(cmd);
        const runs = paths === null ? [] : (await runTapes()).listRuns(paths.journal, opts.session === undefined ? {} : { sessionId: opts.session });
        if (opts.json) printJson({ runs });
        else printText(runTable(runs));
      }),
    );

  tape
    .command('show')
    .argument('<run>', 'the run id (`palyrad tape list` shows them)')
    .description('print the tape of one run as a timeline: one line per step with its time and essentials')
    .addOption(jsonOption())
    .addHelpText('after', '\nJSON: {"runId","sessionId","events":[{seq, hash, kind, payload}]}.\nExit codes: 0 printed, 2 unknown run, usage or I/O error.')
    .action(
      action(run, async (runId: string, opts: { json?: boolean }, cmd: Command) => {
        const { sessionId, events } = await journalTape(cmd, runId);
        if (opts.json) printJson({ runId, sessionId, events });
        else printText(timeline(runId, sessionId, events));
      }),
    );

  tape
    .command('export')
    .argument('<run>', 'the run id (`palyrad tape list` shows them)')
    .description('write the run\'s self-contained tape file (JSON lines: a header, then {seq, hash, kind, payload} per step) for `tape replay --file`')
    .option('--out <file>', 'write to FILE (atomically, mode 0600) instead of stdout; its folder must exist')
    .addOption(new Option('--json', 'the tape is JSON lines either way; with --out, print {"runId","steps","out"}; errors go to stderr as JSON'))
    .addHelpText('after', '\nEach event keeps its journal seq and hash, and the header names the journal\'s origin, so an auditor can match them with `palyrad journal show SEQ`.\nExit codes: 0 written, 2 unknown run, usage or I/O error.')
    .action(
      action(run, async (runId: string, opts: { out?: string; json?: boolean }, cmd: Command) => {
        // A mistyped folder is an error, not a new directory tree (the atomic write would create it).
        const out = opts.out === undefined ? undefined : resolve(opts.out);
        if (out !== undefined) requireFolderOf(out);
        const { paths, sessionId, events } = await journalTape(cmd, runId);
        const { serializeTapeFile } = await agent();
        const text = serializeTapeFile({ runId, sessionId, origin: readOrigin(journalPaths(paths.journal)) }, events);
        if (out === undefined) process.stdout.write(text);
        else {
          writeFileAtomic(out, text);
          if (opts.json) printJson({ runId, steps: events.length, out });
          else printText(`wrote ${events.length} step(s) of run ${runId} to ${opts.out}`);
        }
      }),
    );

  tape
    .command('replay')
    .argument('[run]', 'the run id in the journal; omit it with --file')
    .description('run the agent loop again on a recorded tape (from the journal, or a file with --file) and compare it step by step; nothing is called or run')
    .option('--file <tape>', 'replay this tape file (from `palyrad tape export`) instead of a run in the journal')
    .option('--policies <path>', 'also judge every recorded call with this policy file or folder (compiled with the built-in set, as `policy eval` does) and report the decisions that would change ("what-if"); the replay itself follows the recorded decisions')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      [
        '',
        'JSON: {"runId","source","identical","unfinished","steps","recordedSteps","divergenceCount","divergences":[{step, expected, actual}],"hashesUnchecked",',
        '       "whatIf":[{step, callId, tool, args, approval, recorded, decided, reasons, argsRedacted}],"whatIfPolicySetHash","outcome"}',
        '',
        'Exit codes:',
        '  0  identical: the replay recorded exactly the recorded steps (what-if changes do not count; where the journal',
        '     redacted a secret, hashes over that text cannot be recomputed and are counted in hashesUnchecked). An unfinished',
        '     tape (no run.finished: a run still going, or cut off by a crash) is replayed up to its last step ("unfinished": true)',
        '  1  divergent; or the tape itself is invalid or of a newer version (PALYRA_TAPE_INVALID, PALYRA_TAPE_UNSUPPORTED_VERSION:',
        '     the checked thing failed, as with `journal verify`)',
        '  2  usage or I/O error: give RUN or --file (not both), unknown run, unreadable file, a --policies set that does not validate',
      ].join('\n'),
    )
    .action(
      action(run, async (runId: string | undefined, opts: { file?: string; policies?: string; json?: boolean }, cmd: Command) => {
        if ((runId === undefined) === (opts.file === undefined)) throw new PalyraError('PALYRA_USAGE', 'Give a RUN id or --file TAPE, not both or neither. See \'palyrad tape replay --help\'.');
        const source = opts.file === undefined ? await journalTape(cmd, runId as string) : await fileTape(opts.file);
        let what: { decide: NonNullable<ReplayOptions['decide']>; hash: string } | null = null;
        if (opts.policies !== undefined) {
          try {
            what = await whatIfPolicies(opts.policies);
          } catch (error) {
            // Exit 1 means "divergent" here, so a policy set that does not load must not look like one.
            reportError(error, Boolean(opts.json));
            return 2;
          }
        }
        const { replayTape } = await agent();
        const report = await replayTape(source.events.map((e) => ({ kind: e.kind, payload: e.payload, redactions: e.redactions ?? 0 })), what === null ? {} : { decide: what.decide });
        const { outcome } = report;
        if (opts.json) {
          printJson({
            runId: source.runId,
            source: opts.file === undefined ? { type: 'journal' } : { type: 'file', path: opts.file },
            identical: report.identical,
            unfinished: report.unfinished,
            steps: report.steps,
            recordedSteps: report.recordedSteps,
            divergenceCount: report.divergenceCount,
            divergences: report.divergences,
            hashesUnchecked: report.hashesUnchecked,
            whatIf: report.whatIf,
            whatIfPolicySetHash: what?.hash ?? null,
            outcome: { state: outcome.state, reason: outcome.reason, finalText: outcome.finalText, counters: outcome.counters },
          });
        } else printText(replaySummary(source.runId, report, what?.hash ?? null));
        return report.identical ? 0 : 1;
      }),
    );
}

interface LoadedTape {
  runId: string;
  sessionId: string | null;
  events: TapeFileEvent[];
}

/** A run's tape from the journal; the state directory is only read. */
async function journalTape(cmd: Command, runId: string): Promise<LoadedTape & { paths: StatePaths }> {
  const paths = readableState(cmd);
  if (paths === null) throw new PalyraError('PALYRA_NOT_FOUND', `No tape for run "${runId}": the state directory is empty`);
  const { sessionId, events } = (await runTapes()).readRunTape(paths.journal, runId);
  return { paths, runId, sessionId, events };
}

async function fileTape(path: string): Promise<LoadedTape> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw ioError(`read tape file "${path}"`, error);
  }
  const { header, events } = (await agent()).parseTapeFile(text);
  return { runId: header.runId, sessionId: header.sessionId, events };
}

/** The what-if judge: the built-in set plus the files at `path`, as `policy eval --policies` compiles them. */
async function whatIfPolicies(path: string): Promise<{ decide: NonNullable<ReplayOptions['decide']>; hash: string }> {
  const pe = await import('../../core/policy/index.ts');
  const compiled = await pe.compilePolicySet(pe.readPolicyPaths([path]), { validateRequests: true });
  if (compiled.type === 'invalid') throw pe.policyInvalidError(compiled.problems);
  const { set } = compiled;
  return { decide: (request) => pe.decideToolCall(request, set), hash: set.hash };
}


/** Refuses an output path whose folder is missing or is not a folder. */
function requireFolderOf(path: string): void {
  const folder = dirname(path);
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch (error) {
    throw ioError(`write "${path}"`, error);
  }
  if (!isFolder) throw new PalyraError('PALYRA_IO', `Cannot write "${path}": "${folder}" is not a folder`);
}
