import { Command } from 'commander';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PalyraError } from '../../core/base/index.ts';
import { jsonOption, printJson, printText, terminalSafe } from '../output.ts';
import { action, type CliRun } from '../program.ts';
import { stateRoot } from '../state.ts';


interface WorkerFlags {
  connect?: string;
  token?: string;
  tokenFile?: string;
  name?: string;
  tools?: string;
  workspace?: string;
  json?: boolean;
}

/** Registers `palyrad worker` (run a remote worker) and `palyrad worker token …` (manage worker tokens). */
export function registerWorkerCommands(program: Command, run: CliRun): void {
  const worker = program
    .command('worker')
    .description('run a remote worker: connect to a daemon over WebSocket and run its tool calls on this machine (docs/workers.md)')
    .option('--connect <url>', 'the daemon, e.g. ws://gateway:7142 or https://gateway:7142 (the path defaults to /api/v1/workers)')
    .option('--token-file <file>', 'file holding the worker token (mode 0600)')
    .option('--token <token>', 'the worker token (visible in the process list: prefer --token-file or PALYRA_WORKER_TOKEN)')
    .option('--name <name>', 'the worker name the token must belong to (a check; the token decides the name)')
    .option('--tools <list>', 'comma-separated tools to offer: echo, sleep, fs.read, fs.list, fs.write, http.fetch (default echo,fs.read,fs.list)')
    .option('--workspace <dir>', 'folder the file tools are confined to (default: the current folder)')
    .addHelpText(
      'after',
      `
The token comes from --token-file or --token (not both), else PALYRA_WORKER_TOKEN; it is
never printed. Create one on the daemon's machine with "palyrad worker token create NAME".
The worker's tools appear in the daemon as worker.<name>.<tool> and need an approval
under the default policies. It reconnects with backoff (250 ms doubling to 30 s) until
stopped; SIGINT or SIGTERM closes the connection cleanly.

Two workers must not share a token: each takes the name over from the other, and after
5 such takeovers in a row a worker gives up ("another worker is using this token").

Exit codes: 0 stopped by SIGINT/SIGTERM, 2 usage error, the daemon refused the token or the worker (retrying cannot help), or another worker is using this token.`,
    )
    .action(action(run, (opts: WorkerFlags) => runWorker(opts)));

  const token = worker.command('token').description('manage worker tokens in the state directory (offline: works while the daemon runs)');
  token
    .command('create')
    .description('create a token for a worker and print it once')
    .argument('<name>', 'worker name: lowercase letters, digits, "-" and "_", starting with a letter, at most 46 characters')
    .addOption(jsonOption())
    .addHelpText('after', '\nThe token is printed once on stdout; only <state>/auth/workers/<name>.token keeps it.\nExit codes: 0 created, 2 bad name, the worker has a token already, or I/O error.')
    .action(
      action(run, async (name: string, opts: { json?: boolean }, cmd: Command) => {
        const { createWorkerToken } = await import('../../core/daemon/worker-tokens.ts');
        const created = createWorkerToken(stateRoot(cmd), name);
        if (opts.json) printJson({ name, token: created });
        else printText(created);
      }),
    );
  token
    .command('list')
    .description('list the workers holding tokens (never the tokens)')
    .addOption(jsonOption())
    .action(
      action(run, async (opts: { json?: boolean }, cmd: Command) => {
        const { listWorkerTokens } = await import('../../core/daemon/worker-tokens.ts');
        const workers = listWorkerTokens(stateRoot(cmd));
        if (opts.json) printJson(workers);
        else printText(workers.length === 0 ? 'no worker tokens' : workers.map((w) => `${w.name}  created ${new Date(w.createdAt).toISOString()}`).join('\n'));
      }),
    );
  token
    .command('revoke')
    .description('delete a worker\'s token: a connected worker is dropped at the daemon\'s next heartbeat (15 s) and cannot reconnect')
    .argument('<name>', 'worker name')
    .addOption(jsonOption())
    .addHelpText('after', '\nExit codes: 0 revoked, 2 no such worker token or I/O error.')
    .action(
      action(run, async (name: string, opts: { json?: boolean }, cmd: Command) => {
        const { revokeWorkerToken } = await import('../../core/daemon/worker-tokens.ts');
        revokeWorkerToken(stateRoot(cmd), name);
        if (opts.json) printJson({ name, revoked: true });
        else printText(`revoked the token of worker "${name}"`);
      }),
    );
}

async function runWorker(opts: WorkerFlags): Promise<number> {
  if (opts.connect === undefined) throw new PalyraError('PALYRA_USAGE', '--connect is required: give the daemon\'s URL, e.g. palyrad worker --connect ws://127.0.0.1:7142 --token-file worker.token');
  // Loaded on use: the worker pulls in ws, msgpack and the tool runtime.
  const { DEFAULT_WORKER_TOOLS, WorkerClient, workerToolRegistry, workerUrl } = await import('../../core/transport/worker/index.ts');
  const url = workerUrl(opts.connect);
  const token = await workerToken(opts);
  const names = opts.tools === undefined ? [...DEFAULT_WORKER_TOOLS] : opts.tools.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const workspace = realDir(opts.workspace ?? process.cwd());
  // The worker keeps no state; the tools' state folder is a private temporary one.
  const stateDir = mkdtempSync(join(tmpdir(), 'palyrad-worker-'));
  const log = (message: string) => process.stderr.write(`palyrad worker: ${terminalSafe(message, false)}\n`);
  const client = new WorkerClient({ url, token, name: opts.name ?? null, registry: workerToolRegistry(names, { stateDir }), context: { workspace, stateDir }, log });
  const stop = (signal: NodeJS.Signals) => {
    log(`received ${signal}, closing`);
    client.stop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await client.run();
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function workerToken(opts: WorkerFlags): Promise<string> {
  if (opts.token !== undefined && opts.tokenFile !== undefined) throw new PalyraError('PALYRA_USAGE', 'Give the token once: --token or --token-file, not both');
  if (opts.token !== undefined) return nonEmpty(opts.token, '--token');
  if (opts.tokenFile !== undefined) {
    const { readTokenFile } = await import('../../core/daemon/token-file.ts');
    const token = readTokenFile(resolve(opts.tokenFile));
    if (token === null) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Token file "${opts.tokenFile}" does not exist`);
    return token;
  }
  const fromEnv = process.env.PALYRA_WORKER_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') return nonEmpty(fromEnv, 'PALYRA_WORKER_TOKEN');
  throw new PalyraError('PALYRA_USAGE', 'A worker token is required: pass --token-file FILE, set PALYRA_WORKER_TOKEN, or pass --token (create one with "palyrad worker token create NAME")');
}

function nonEmpty(token: string, source: string): string {
  const trimmed = token.trim();
  if (trimmed === '') throw new PalyraError('PALYRA_USAGE', `${source} is empty`);
  return trimmed;
}

function realDir(dir: string): string {
  try {
    return realpathSync(resolve(dir));
  } catch {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `--workspace "${dir}" is not an existing folder`);
  }
}
