import { Command, Option } from 'commander';
import { PalyraError } from '../../core/base/index.ts';
import { daemonClient } from '../daemon-client.ts';
import { jsonOption, printJson, printText } from '../output.ts';
import { action, type CliRun } from '../program.ts';


/**
 * Client commands for scripts: they talk to the daemon serving this state directory (its
 * port is in the lock file) with the admin token from `<state>/auth/admin.token`.
 */
export function registerClientCommands(program: Command, run: CliRun): void {
  program
    .command('send')
    .description('send a message to a session of the running daemon')
    .argument('<session>', 'session id, key or label')
    .argument('<message>', 'the message text')
    .option('--wait', 'wait for the run to end and print its final answer')
    .option('--idempotency-key <key>', 'a key that makes retries safe: the daemon admits it once')
    .addOption(new Option('--mode <mode>', 'when the session is busy: coalesce (join a burst), followup, collect, steer (join the going run at its next model turn) or interrupt').choices(['coalesce', 'followup', 'collect', 'steer', 'interrupt']).default('coalesce'))
    .addOption(jsonOption())
    .addHelpText('after', '\nExit codes: 0 admitted (with --wait: the run completed), 1 the run failed or was cancelled (--wait), 2 usage error or no daemon.')
    .action(
      action(run, async (session: string, text: string, opts: { wait?: boolean; idempotencyKey?: string; mode: string; json?: boolean }, cmd: Command) => {
        const api = daemonClient(cmd);
        const body = await api('POST', `/api/v1/sessions/${encodeURIComponent(session)}/messages${opts.wait ? '?wait=true' : ''}`, {
          text,
          idempotencyKey: opts.idempotencyKey,
          mode: opts.mode,
        }).catch((error: unknown) => {
          // The daemon's sentence says what was looked for; the CLI says how to make one (by key:
          // an id cannot be chosen, and a key must be a session name).
          if (error instanceof PalyraError && error.code === 'PALYRA_NOT_FOUND' && /^(?!ses_)[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/.test(session)) {
            throw new PalyraError('PALYRA_NOT_FOUND', `${error.message}; create one with 'palyrad sessions create --key ${session}'`);
          }
          throw error;
        });
        if (opts.json) printJson(body);
        const runView = (body as { run?: { state: string; reason: string | null; finalText: string | null } }).run;
        if (!opts.json) {
          const { runId, duplicate } = body as { runId: string; duplicate: boolean };
          if (!runView) printText(`${duplicate ? 'already admitted' : 'admitted'}: run ${runId}`);
          else printText(runView.state === 'completed' ? (runView.finalText ?? '') : `run ${runId} ${runView.state}: ${runView.reason ?? ''}`);
        }
        return runView && runView.state !== 'completed' ? 1 : 0;
      }),
    );

  const runs = program.command('runs').description('runs of the running daemon');
  runs
    .command('list')
    .description('list runs, newest first')
    .option('--session <id>', 'only runs of this session')
    .addOption(jsonOption())
    .action(
      action(run, async (opts: { session?: string; json?: boolean }, cmd: Command) => {
        const body = (await daemonClient(cmd)('GET', `/api/v1/runs${opts.session ? `?session=${encodeURIComponent(opts.session)}` : ''}`)) as { runs: RunView[] };
        if (opts.json) printJson(body.runs);
        else printText(body.runs.length === 0 ? 'no runs' : body.runs.map(runLine).join('\n'));
      }),
    );
  runs
    .command('show')
    .description('show one run')
    .argument('<run>', 'run id')
    .addOption(jsonOption())
    .action(
      action(run, async (runId: string, opts: { json?: boolean }, cmd: Command) => {
        const body = (await daemonClient(cmd)('GET', `/api/v1/runs/${encodeURIComponent(runId)}`)) as { run: RunView };
        if (opts.json) printJson(body.run);
        else printText(`${runLine(body.run)}${body.run.finalText ? `\n\n${body.run.finalText}` : ''}`);
      }),
    );
  runs
    .command('cancel')
    .description('cancel a run (it ends cancelled; its tape records why)')
    .argument('<run>', 'run id')
    .addOption(jsonOption())
    .action(
      action(run, async (runId: string, opts: { json?: boolean }, cmd: Command) => {
        const body = (await daemonClient(cmd)('POST', `/api/v1/runs/${encodeURIComponent(runId)}/cancel`)) as { run: RunView };
        if (opts.json) printJson(body.run);
        else printText(`cancelling ${runId} (${body.run.state})`);
      }),
    );
  runs
    .command('resume')
    .description('resume a run a stop of the daemon interrupted, as a new run: tool results on its tape are fed back, no call is run twice, and what the old run used of its budgets still counts')
    .argument('<run>', 'id of the interrupted run')
    .addOption(jsonOption())
    .action(
      action(run, async (runId: string, opts: { json?: boolean }, cmd: Command) => {
        const body = (await daemonClient(cmd)('POST', `/api/v1/runs/${encodeURIComponent(runId)}/resume`)) as { runId: string; reused: number; notRepeated: unknown[] };
        if (opts.json) printJson(body);
        else printText(`resuming ${runId} as ${body.runId} (${body.reused} recorded result(s) reused, ${body.notRepeated.length} unrecorded call(s) not repeated)`);
      }),
    );

  const approvals = program.command('approvals').description('tool calls waiting for a human, on the running daemon');
  approvals
    .command('list')
    .description('list pending approvals')
    .addOption(jsonOption())
    .action(
      action(run, async (opts: { json?: boolean }, cmd: Command) => {
        const body = (await daemonClient(cmd)('GET', '/api/v1/approvals')) as { approvals: PendingApproval[] };
        if (opts.json) printJson(body.approvals);
        else
          printText(
            body.approvals.length === 0
              ? 'no pending approvals'
              : body.approvals.map((a) => `${a.id}  ${a.request.tool.name} ${JSON.stringify(a.request.args)}  (${a.decision.reasons.join('; ')}; scopes ${a.scopes.join('/')})`).join('\n'),
          );
      }),
    );
  approvals
    .command('approve')
    .description('approve a pending call')
    .argument('<id>', 'approval id')
    .addOption(new Option('--scope <scope>', 'how far the approval reaches').choices(['once', 'session', 'always']).default('once'))
    .addOption(jsonOption())
    .action(
      action(run, async (id: string, opts: { scope: string; json?: boolean }, cmd: Command) => {
        const body = await daemonClient(cmd)('POST', `/api/v1/approvals/${encodeURIComponent(id)}`, { decision: 'approve', scope: opts.scope, by: 'cli' });
        if (opts.json) printJson(body);
        else printText(`approved ${id} (${opts.scope})`);
      }),
    );
  approvals
    .command('deny')
    .description('deny a pending call (the model is told, as a tool error)')
    .argument('<id>', 'approval id')
    .option('--reason <text>', 'why, for the model and the tape')
    .addOption(jsonOption())
    .action(
      action(run, async (id: string, opts: { reason?: string; json?: boolean }, cmd: Command) => {
        const body = await daemonClient(cmd)('POST', `/api/v1/approvals/${encodeURIComponent(id)}`, { decision: 'deny', reason: opts.reason, by: 'cli' });
        if (opts.json) printJson(body);
        else printText(`denied ${id}`);
      }),
    );

  program
    .command('status')
    .description('is a daemon serving this state directory, and where its journal stands')
    .addOption(jsonOption())
    .addHelpText('after', '\nExit codes: 0 a daemon is serving, 2 none is (or it does not answer).')
    .action(
      action(run, async (opts: { json?: boolean }, cmd: Command) => {
        const api = daemonClient(cmd);
        const journal = (await api('GET', '/api/v1/journal')) as { head: { seq: number; hash: string } };
        const sessions = (await api('GET', '/api/v1/sessions')) as { sessions: unknown[] };
        const status = { serving: true, port: api.port, url: api.url, journal: journal.head, sessions: sessions.sessions.length };
        if (opts.json) printJson(status);
        else printText(`serving on ${api.url}; journal head ${journal.head.seq}; ${status.sessions} session(s)`);
      }),
    );
}

interface RunView {
  runId: string;
  sessionId: string;
  state: string;
  reason: string | null;
  finalText: string | null;
}

interface PendingApproval {
  id: string;
  request: { tool: { name: string }; args: unknown };
  decision: { reasons: string[] };
  scopes: string[];
}

function runLine(r: RunView): string {
  return `${r.runId}  ${r.sessionId}  ${r.state}${r.reason ? ` (${r.reason})` : ''}`;
}
