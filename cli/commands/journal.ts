import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { canonicalJson, ioError, PalyraError, type JsonValue } from '../../core/base/index.ts';
import { initStateDir, statePaths, type StatePaths } from '../../core/daemon/state-dir.ts';
import {
  assertKind,
  assertName,
  JournalIndex,
  journalPaths,
  listSegments,
  loadOrCreateSigningKey,
  loadTrustedKey,
  newestCheckpoint,
  readCheckpoints,
  newestRecords,
  readRecords,
  Redactor,
  toJournalEvent,
  verifyJournal,
  type TrustedKey,
} from '../../core/journal/index.ts';
import { invalidJsonError, jsonOption, printJson, printJsonLine, printText, printWarning } from '../output.ts';
import { action, type CliRun } from '../program.ts';
import { journalLimits, positiveInt, positiveIntOrZero, readableState, stateRoot, withOfflineWriter } from '../state.ts';
import { eventDetail, eventLine, progressBar, verifySummary } from '../journal-render.ts';
import { followJournal } from '../journal-follow.ts';


/** Registers `palyrad journal ...`. */
export function registerJournalCommands(program: Command, run: CliRun): void {
  const journal = program
    .command('journal')
    .description('inspect, verify and write the tamper-evident journal (works offline, beside a running daemon)');

  journal
    .command('verify')
    .description('check every frame, the sequence, the hash chain and every signed checkpoint')
    .addOption(jsonOption())
    .option('--key <file>', 'public key (PEM) checkpoints must be signed by (default: the state directory\'s keys/checkpoint.pub)')
    .option('--require-anchor', 'also fail when no valid signed checkpoint covers the head')
    .addHelpText('after', '\nExit codes: 0 the journal verifies, 1 a problem was found (or it is unanchored with --require-anchor), 2 usage or I/O error.')
    .action(
      action(run, async (opts: { json?: boolean; key?: string; requireAnchor?: boolean }, cmd: Command) => {
        const paths = readableState(cmd) ?? statePaths(stateRoot(cmd));
        const trustedKey = trustedKeyFor(paths, opts.key);
        const bar = !opts.json && process.stderr.isTTY && journalBytes(paths) > 16 * 1024 * 1024 ? progressBar('verifying') : null;
        const report = await verifyJournal(paths.journal, {
          trustedKey,
          onProgress: bar ? (d, t) => bar.update(d, t) : undefined,
          onWorkersFailed: (error) => printWarning(`verifying on one thread, the worker threads failed: ${(error as Error).message}`),
        });
        bar?.finish();
        if (opts.json) printJson(report);
        else printText(verifySummary(report));
        return report.ok && (report.anchored || !opts.requireAnchor) ? 0 : 1;
      }),
    );

  journal
    .command('append')
    .description('append one event (for scripts and tests; refused while a daemon holds the state lock)')
    .requiredOption('--kind <kind>', 'event kind, lowercase dotted words such as "note.added"')
    .requiredOption('--payload <json>', 'payload as JSON text, @FILE to read it from a file, or - for stdin (secrets in it are redacted before it is written)')
    .option('--session <id>', 'session id the event belongs to')
    .option('--run <id>', 'run id the event belongs to')
    .option('--actor <name>', 'who caused the event', 'operator')
    .addOption(jsonOption())
    .action(
      action(run, async (opts: { kind: string; payload: string; session?: string; run?: string; actor: string; json?: boolean }, cmd: Command) => {
        // Validate everything before touching the state directory: bad input changes nothing.
        const cap = (await journalLimits(cmd)).maxPayloadBytes;
        const payload = parsePayload(readPayloadText(opts.payload, cap), cap);
        assertKind(opts.kind);
        assertScriptKind(opts.kind, opts.actor);
        assertName('session id', opts.session);
        assertName('run id', opts.run);
        assertName('actor', opts.actor);
        // What the payload itself can get wrong (nesting too deep for the redactor, too
        // large once redaction markers replaced secrets), also before the state directory
        // is created or locked. The store checks the same again with every secret it knows.
        let redactedBytes: number;
        try {
          redactedBytes = Buffer.byteLength(canonicalJson(new Redactor().redact(payload).value));
        } catch (error) {
          throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid payload for "${opts.kind}": ${(error as Error).message}`);
        }
        if (redactedBytes > cap) {
          throw new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', `Payload of "${opts.kind}" is ${redactedBytes} bytes once redacted, over the journal limit of ${cap} bytes`);
        }
        const result = await withOfflineWriter(cmd, 'palyrad journal append', (store) =>
          store.append({ kind: opts.kind, payload, sessionId: opts.session, runId: opts.run, actor: opts.actor }),
        );
        if (opts.json) printJson(result);
        else printText(`appended event ${result.seq} ${result.hash}${result.redactions ? ` (${result.redactions} secret(s) redacted)` : ''}`);
      }),
    );

  journal
    .command('tail')
    .description('print the newest events; with --follow keep printing new ones as they are written')
    .option('-n, --lines <n>', 'how many of the newest events to print', '20')
    .option('-f, --follow', 'keep running and print events as they are appended (Ctrl-C to stop)')
    .addOption(new Option('--json', 'print one JSON object per line'))
    .action(
      action(run, async (opts: { lines: string; follow?: boolean; json?: boolean }, cmd: Command) => {
        // 0 prints nothing of the past: `tail -n 0 -f` shows only what is written from now on.
        const n = positiveIntOrZero('--lines', opts.lines, Number.MAX_SAFE_INTEGER);
        const paths = readableState(cmd) ?? statePaths(stateRoot(cmd));
        const segmentsDir = journalPaths(paths.journal).segments;
        const print = (e: ReturnType<typeof toJournalEvent>) => (opts.json ? printJsonLine(e) : printText(eventLine(e)));
        // At least the newest one, to know where following starts.
        const newest = newestRecords(segmentsDir, Math.max(n, 1));
        newest.slice(newest.length - n).forEach((record) => print(toJournalEvent(record)));
        if (opts.follow) {
          // Ctrl-C is how following ends: a success (0), not a death by signal (130).
          const stop = new AbortController();
          const onSignal = (): void => stop.abort();
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          await followJournal(segmentsDir, newest[newest.length - 1]?.seq ?? 0, print, stop.signal);
        }
      }),
    );

  journal
    .command('show')
    .argument('<seq>', 'the event\'s sequence number')
    .description('print one event in full')
    .addOption(jsonOption())
    .action(
      action(run, (seqArg: string, opts: { json?: boolean }, cmd: Command) => {
        const seq = positiveInt('SEQ', seqArg);
        const paths = readableState(cmd) ?? statePaths(stateRoot(cmd));
        for (const { record } of readRecords(journalPaths(paths.journal).segments, { fromSeq: seq })) {
          if (record.seq !== seq) break;
          const event = toJournalEvent(record);
          if (opts.json) printJson(event);
          else printText(eventDetail(event));
          return 0;
        }
        throw new PalyraError('PALYRA_NOT_FOUND', `Event ${seq} is not in the journal`);
      }),
    );

  journal
    .command('export')
    .description('print stored records as JSON lines: sha256(canonical JSON of a line without "hash") equals its "hash"')
    .option('--from <seq>', 'first seq to export', '1')
    .option('--to <seq>', 'last seq to export (default: the head)')
    .addOption(new Option('--json', 'accepted for symmetry: the output is always JSON lines (errors then go to stderr as JSON)'))
    .action(
      action(run, (opts: { from: string; to?: string }, cmd: Command) => {
        const from = positiveInt('--from', opts.from);
        const to = opts.to === undefined ? Number.MAX_SAFE_INTEGER : positiveInt('--to', opts.to);
        if (to < from) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `--to (${to}) is before --from (${from})`);
        const paths = readableState(cmd) ?? statePaths(stateRoot(cmd));
        for (const { record } of readRecords(journalPaths(paths.journal).segments, { fromSeq: from })) {
          if (record.seq > to) break;
          printJsonLine(record);
        }
      }),
    );

  journal
    .command('checkpoint')
    .description('sign a checkpoint over the current head now (refused while a daemon holds the state lock)')
    .addOption(jsonOption())
    .action(
      action(run, async (opts: { json?: boolean }, cmd: Command) => {
        const result = await withOfflineWriter(cmd, 'palyrad journal checkpoint', (store) => store.checkpoint());
        const cp = result.checkpoint;
        if (opts.json) printJson({ ...cp, created: result.created });
        else printText(`${result.created ? 'signed' : 'already signed'} checkpoint ${cp.n}: size ${cp.size}, head ${cp.headHash}, key ${cp.keyId}`);
      }),
    );

  journal
    .command('key')
    .description('print the public key that signs checkpoints (creating the key pair on first use)')
    .addOption(jsonOption())
    .action(
      action(run, (opts: { json?: boolean }, cmd: Command) => {
        // Creating the key writes to the state directory: made when missing, as the other
        // writers do; a folder that is not one is refused.
        const paths = initStateDir(stateRoot(cmd));
        // A journal with checkpoints keeps the key that signed them: never a new one over them.
        const newest = newestCheckpoint(journalPaths(paths.journal).checkpoints);
        const key = loadOrCreateSigningKey(paths.checkpointKey, paths.checkpointPub, newest ? { keyId: newest.keyId, checkpoint: newest.n } : undefined);
        if (opts.json) printJson({ keyId: key.keyId, publicKey: key.publicPem, path: paths.checkpointPub });
        else printText(key.publicPem);
      }),
    );

  journal
    .command('reindex')
    .description('rebuild the query index from the log and write its snapshot (refused while a daemon holds the state lock)')
    .addOption(jsonOption())
    .action(
      action(run, async (opts: { json?: boolean }, cmd: Command) => {
        const started = performance.now();
        const result = await withOfflineWriter(cmd, 'palyrad journal reindex', (store) => store.rebuildIndex());
        const ms = Math.round(performance.now() - started);
        if (opts.json) printJson({ ...result, ms });
        else printText(`index rebuilt: ${result.events} events (seq ${result.oldestSeq ?? '-'}–${result.lastSeq}), snapshot ${result.snapshotBytes} bytes, ${ms} ms`);
      }),
    );

  journal
    .command('status')
    .description('summarize the journal: head, segments, checkpoints, index snapshot')
    .addOption(jsonOption())
    .action(
      action(run, async (opts: { json?: boolean }, cmd: Command) => {
        const paths = readableState(cmd) ?? statePaths(stateRoot(cmd));
        const status = await journalStatus(paths);
        if (opts.json) printJson(status);
        else printText(Object.entries(status).map(([k, v]) => `${k.padEnd(16)}${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n'));
      }),
    );
}

/**
 * Kinds palyrad writes itself and reads back when it starts (sessions, memory, messages,
 * runs, the journal's own events), and the actors it writes as: an event a script wrote
 * there would pass for the daemon's own (a forged `journal.recovered`), or be read back as
 * one. Scripts write their own kinds (`note.added`, `deploy.finished`).
 */
const DAEMON_KIND_PREFIXES = ['journal', 'session', 'memory', 'message', 'run', 'model', 'tool', 'policy', 'approval', 'worker'];
const DAEMON_ACTORS = new Set(['system', 'gateway', 'memory', 'agent']);

function assertScriptKind(kind: string, actor: string): void {
  const namespace = kind.split('.')[0] as string;
  if (DAEMON_KIND_PREFIXES.includes(namespace)) {
    throw new PalyraError(
      'PALYRA_INVALID_ARGUMENT',
      `Kind "${kind}" is one palyrad writes itself (${DAEMON_KIND_PREFIXES.map((p) => `${p}.*`).join(', ')}): use a kind of your own, such as "note.added"`,
    );
  }
  if (DAEMON_ACTORS.has(actor)) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Actor "${actor}" is one palyrad writes as (${[...DAEMON_ACTORS].join(', ')}): use another, such as "operator" (the default)`);
  }
}

/**
 * The payload's text: the flag's value, or a file's (`@FILE`) or stdin's (`-`) content,
 * since one command-line argument holds at most 128 KiB on Linux while the journal takes
 * 1 MiB. Neither form is ambiguous: no JSON text starts with `@` or is a lone `-`.
 */
function readPayloadText(value: string, cap: number): string {
  if (value !== '-' && !value.startsWith('@')) return value;
  const source = value === '-' ? 'stdin' : `"${value.slice(1)}"`;
  let fd: number | undefined;
  try {
    fd = value === '-' ? 0 : openSync(value.slice(1), 'r');
    // Read at most one byte past the cap: a FIFO, a device or an endless stdin reports no
    // size to check first, and must not be read into memory whole.
    const buffer = Buffer.alloc(cap + 1);
    let filled = 0;
    while (filled < buffer.length) {
      let n: number;
      try {
        n = readSync(fd, buffer, filled, buffer.length - filled, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue; // a non-blocking stdin with nothing yet
        throw error;
      }
      if (n === 0) break;
      filled += n;
    }
    if (filled > cap) throw new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', `--payload ${source} is over the journal limit of ${cap} bytes`);
    return buffer.toString('utf8', 0, filled);
  } catch (error) {
    if (error instanceof PalyraError) throw error;
    throw ioError(`read --payload from ${source}`, error);
  } finally {
    if (fd !== undefined && fd !== 0) closeSync(fd);
  }
}

function parsePayload(text: string, cap: number): JsonValue {
  const bytes = Buffer.byteLength(text);
  if (bytes > cap) throw new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', `--payload is ${bytes} bytes, over the journal limit of ${cap} bytes`);
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    // Security: V8's message quotes the text around the error, which may be a secret the
    // redactor never got to see; only where it failed is said.
    throw invalidJsonError('--payload', error);
  }
}

function trustedKeyFor(paths: StatePaths, keyFlag: string | undefined): TrustedKey | null {
  // An empty --key (an unset variable: --key "$KEY") must not fall back to the state
  // directory's own key, which whoever can write the state directory can replace.
  if (keyFlag === '') throw new PalyraError('PALYRA_USAGE', '--key needs a public key file');
  if (keyFlag !== undefined) return loadTrustedKey(keyFlag);
  if (existsSync(paths.checkpointPub)) return loadTrustedKey(paths.checkpointPub);
  return null;
}

function journalBytes(paths: StatePaths): number {
  let total = 0;
  for (const { path } of listSegmentsSafe(paths)) total += sizeOf(path);
  return total;
}

async function journalStatus(paths: StatePaths) {
  const jp = journalPaths(paths.journal);
  const segments = listSegmentsSafe(paths);
  const newest = newestRecords(jp.segments, 1)[0];
  const head = newest ? { seq: newest.seq, hash: newest.hash } : null;
  const checkpoints = readCheckpoints(jp.checkpoints);
  const lastCp = [...checkpoints].reverse().find((l) => 'record' in l);
  const index = existsSync(jp.index) ? await JournalIndex.open(jp.index, { retention: Number.MAX_SAFE_INTEGER }) : null;
  const indexStats = index?.stats() ?? null;
  // A snapshot that could not be used opens as an empty index: say so, not "0 events".
  const snapshotUnusable = index !== null && !index.fromSnapshot;
  index?.close();
  return {
    state: paths.root,
    head,
    segments: segments.length,
    bytes: segments.reduce((s, x) => s + sizeOf(x.path), 0),
    checkpoints: checkpoints.length,
    lastCheckpoint: lastCp && 'record' in lastCp ? { n: lastCp.record.n, size: lastCp.record.size, ts: lastCp.record.ts } : null,
    indexSnapshot: snapshotUnusable
      ? { unusable: 'damaged, of another version or unreadable: the next writer rebuilds it from the log' }
      : indexStats
        ? { events: indexStats.events, oldestSeq: indexStats.oldestSeq, lastSeq: indexStats.lastSeq }
        : null,
  };
}

function listSegmentsSafe(paths: StatePaths) {
  return listSegments(journalPaths(paths.journal).segments);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
