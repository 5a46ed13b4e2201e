import { resolve } from 'node:path';
import { Command } from 'commander';
// The daemon's API returns sessions as the gateway keeps them (type only: nothing of core/gateway is bundled for this).
import type { Session, SessionInput } from '../../core/gateway/sessions.ts';
import { daemonClient } from '../daemon-client.ts';
import { jsonOption, printJson, printText } from '../output.ts';
import { action, type CliRun } from '../program.ts';
import { positiveInt } from '../state.ts';

/** `sessions create`'s flags: the session's own fields as the API takes them, budgets as flag text. */
interface CreateOptions extends Omit<SessionInput, 'budgets'> {
  maxTurns?: string;
  maxToolCalls?: string;
  maxTokens?: string;
  wallClockMs?: string;
  json?: boolean;
}


/**
 * `palyrad sessions …`: what a script needs before `palyrad send` — a session to send to.
 * Every check of the input is the daemon's (the same as for `POST /api/v1/sessions`); the
 * command only turns flags into that body.
 */
export function registerSessionCommands(program: Command, run: CliRun): void {
  const sessions = program.command('sessions').description('sessions of the running daemon: list, create, show, archive');
  sessions
    .command('list')
    .description('list live sessions, oldest first')
    .option('--archived', 'include archived sessions')
    .addOption(jsonOption())
    .action(
      action(run, async (opts: { archived?: boolean; json?: boolean }, cmd: Command) => {
        const body = (await daemonClient(cmd)('GET', `/api/v1/sessions${opts.archived ? '?archived=true' : ''}`)) as { sessions: Session[] };
        if (opts.json) printJson(body.sessions);
        else printText(body.sessions.length === 0 ? 'no sessions' : body.sessions.map(sessionLine).join('\n'));
      }),
    );
  sessions
    .command('create')
    .description('create a session; with the --key of a live session, that session is returned instead (safe to retry)')
    .option('--key <key>', "the client's own stable name for the conversation (unique among live sessions)")
    .option('--label <label>', 'a human-readable name')
    .option('--principal <entity>', 'the agent it belongs to, e.g. Agent::"main" (default)')
    .option('--channel <name>', 'where its messages come from (default "api")')
    .option('--owner', "its sender is the daemon's owner (policies may trust owners more)")
    .option('--workspace <dir>', "folder its file tools are confined to (a relative path is taken from the current folder; default: the daemon's workspace)")
    .option('--max-turns <n>', 'at most this many model turns per run (only tightens the daemon\'s budget)')
    .option('--max-tool-calls <n>', 'at most this many tool calls per run')
    .option('--max-tokens <n>', 'at most this many tokens per run')
    .option('--wall-clock-ms <ms>', 'at most this long per run')
    .addOption(jsonOption())
    .addHelpText('after', '\nPrints the session id (with --json, the session). Exit codes: 0 created or found by key, 2 refused (bad input) or no daemon.')
    .action(
      action(run, async (opts: CreateOptions, cmd: Command) => {
        const body = (await daemonClient(cmd)('POST', '/api/v1/sessions', createBody(opts))) as { id: string; session: Session };
        if (opts.json) printJson(body.session);
        else printText(body.id);
      }),
    );
  sessions
    .command('show')
    .description('show one session')
    .argument('<session>', 'session id, key or label')
    .addOption(jsonOption())
    .action(
      action(run, async (session: string, opts: { json?: boolean }, cmd: Command) => {
        const body = (await daemonClient(cmd)('GET', `/api/v1/sessions/${encodeURIComponent(session)}`)) as { session: Session };
        if (opts.json) printJson(body.session);
        else printText(sessionDetails(body.session));
      }),
    );
  sessions
    .command('archive')
    .description('archive a session: it takes no more messages (admitted ones still run) and frees its key; its runs and journal stay')
    .argument('<session>', 'session id, key or label')
    .addOption(jsonOption())
    .action(
      action(run, async (session: string, opts: { json?: boolean }, cmd: Command) => {
        const body = (await daemonClient(cmd)('POST', `/api/v1/sessions/${encodeURIComponent(session)}/archive`)) as { session: Session };
        if (opts.json) printJson(body.session);
        else printText(`archived ${body.session.id}`);
      }),
    );
}

/** The API body of a create: flags given, and nothing else, so the daemon's defaults apply. */
function createBody(opts: CreateOptions): Record<string, unknown> {
  const budgets: Record<string, number> = {};
  if (opts.maxTurns !== undefined) budgets['maxTurns'] = positiveInt('--max-turns', opts.maxTurns);
  if (opts.maxToolCalls !== undefined) budgets['maxToolCalls'] = positiveInt('--max-tool-calls', opts.maxToolCalls);
  if (opts.maxTokens !== undefined) budgets['maxTokens'] = positiveInt('--max-tokens', opts.maxTokens);
  if (opts.wallClockMs !== undefined) budgets['wallClockMs'] = positiveInt('--wall-clock-ms', opts.wallClockMs);
  // The daemon takes absolute paths only: a relative one means this shell's folder, not the daemon's.
  const workspace = opts.workspace === undefined || opts.workspace === '' ? opts.workspace : resolve(opts.workspace);
  const body: Record<string, unknown> = { key: opts.key, label: opts.label, principal: opts.principal, channel: opts.channel, workspace };
  if (opts.owner) body['owner'] = true;
  if (Object.keys(budgets).length > 0) body['budgets'] = budgets;
  return body;
}

function sessionLine(s: Session): string {
  const names = [s.key === null ? null : `key ${s.key}`, s.label === null ? null : `label ${s.label}`].filter((n) => n !== null);
  return `${s.id}  ${names.length > 0 ? names.join(', ') : '-'}  ${s.channel}${s.owner ? ' (owner)' : ''}${s.archivedAt === null ? '' : '  archived'}`;
}

function sessionDetails(s: Session): string {
  const budgets = Object.entries(s.budgets).map(([k, v]) => `${k} ${v}`);
  return [
    `id         ${s.id}`,
    `key        ${s.key ?? '-'}`,
    `label      ${s.label ?? '-'}`,
    `principal  ${s.principal}`,
    `channel    ${s.channel}${s.owner ? ' (owner)' : ''}`,
    `workspace  ${s.workspace === '' ? "(the daemon's)" : s.workspace}`,
    `budgets    ${budgets.length > 0 ? budgets.join(', ') : "(the daemon's)"}`,
    `created    ${new Date(s.createdAt).toISOString()}`,
    ...(s.archivedAt === null ? [] : [`archived   ${new Date(s.archivedAt).toISOString()}`]),
  ].join('\n');
}
