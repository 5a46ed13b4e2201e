import { Command, Option } from 'commander';
import { action, type CliRun } from '../program.ts';
import { positiveIntOrZero, stateRoot } from '../state.ts';
import { PALYRA_VERSION } from '../version.ts';
import { terminalSafe } from '../output.ts';

/** Registers `palyrad serve`. */
export function registerServeCommand(program: Command, run: CliRun): void {
  program
    .command('serve')
    .description('run the daemon in the foreground: lock the state directory, open the journal, serve the HTTP API on 127.0.0.1 (bearer token in <state>/auth/admin.token)')
    .option('--config <file>', 'configuration file (default: <state>/config.toml when present; see docs/config.md)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1; others need TLS, see docs/config.md)')
    .option('--port <port>', 'TCP port (default 7142 or PALYRA_PORT; 0 picks a free one)')
    .addOption(new Option('--log-format <format>', 'log line format (default text)').choices(['text', 'json']))
    .addHelpText('after', '\nStops cleanly on SIGINT or SIGTERM: flushes the journal, signs a final checkpoint, removes the lock. SIGHUP reloads the policy folder.\nExit codes: 0 stopped cleanly; 1 could not start because a check failed (the journal failed its integrity check, the policy set is invalid); 2 could not start (state locked, port in use, bad configuration, I/O error), lost its state lock while running (another palyrad took the directory over while this one was stopped or blocked for a minute), or could not stop cleanly.')
    .action(
      action(run, async (opts: ServeFlags, cmd: Command) => {
        // Until the configuration is loaded, the flag or the environment says how to log.
        const format = { json: opts.logFormat === 'json' || (opts.logFormat === undefined && process.env.PALYRA_LOG_FORMAT?.trim() === 'json') };
        try {
          return await serve(opts, cmd, format);
        } catch (error) {
          if (!format.json) throw error;
          // A log collector reading JSON lines gets the failure as one of them, not as text.
          const { errorBody, exitCodeOf } = await import('../../core/base/index.ts');
          const { error: body } = errorBody(error);
          writeLog(true, `could not start: ${body.message}`, { error: body });
          return exitCodeOf(error);
        }
      }),
    );
}

interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  logFormat?: 'text' | 'json';
}

/** One log line on stderr: `{ts, msg, ...fields}` as JSON, or `palyrad: msg` as text. */
function writeLog(json: boolean, message: string, fields?: Record<string, unknown>): void {
  // Log lines quote what clients, workers and models sent: terminal controls escaped (see terminalSafe).
  if (json) process.stderr.write(`${terminalSafe(JSON.stringify({ ts: new Date().toISOString(), msg: message, ...fields }), false)}\n`);
  else process.stderr.write(`palyrad: ${terminalSafe(message, false)}\n`);
}

async function serve(opts: ServeFlags, cmd: Command, format: { json: boolean }): Promise<number> {
  // Flags override the file and the environment (config.ts); only flags actually given count.
  const flags: Record<string, string | number> = {};
  if (opts.port !== undefined) flags['server.port'] = positiveIntOrZero('--port', opts.port, 65535);
  if (opts.host !== undefined) flags['server.host'] = opts.host;
  if (opts.logFormat !== undefined) flags['server.logFormat'] = opts.logFormat;
  const { loadConfig } = await import('../../core/daemon/config.ts');
  const { config } = loadConfig({ stateDir: stateRoot(cmd), configPath: opts.config, env: process.env, flags });
  format.json = config.server.logFormat === 'json';
  const log = (message: string, fields?: Record<string, unknown>) => writeLog(format.json, message, fields);
  const { unknownEnvWarnings } = await import('../../core/daemon/config-unknown-env.ts');
  for (const warning of unknownEnvWarnings(process.env, config)) log(`warning: ${warning}`, { warning });
  // Invariant: signal handlers are installed before anything can be signalled, so a
  // SIGINT/SIGTERM during start-up or right after "serving on" still stops cleanly.
  let onStop: ((reason: string) => void) | null = null;
  let early: string | null = null;
  let stopFailed = false;
  let lockLost = false;
  const handler = (signal: NodeJS.Signals) => (onStop ? onStop(`received ${signal}`) : (early ??= `received ${signal}`));
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  // SIGHUP: read the policy folder again (a set that fails is refused whole; the old one stays).
  let reload: (() => void) | null = null;
  const hup = () => reload?.();
  process.on('SIGHUP', hup);
  try {
    // Loaded on use: the daemon pulls in the tool runtime (undici, Ajv), which every
    // other command, `--version` included, would otherwise pay for at start-up.
    (await import('../../core/base/v8-daemon-tuning.ts')).tuneV8ForDaemon();
    const { startDaemon } = await import('../../core/daemon/daemon.ts');
    const daemon = await startDaemon({ stateDir: stateRoot(cmd), config, version: PALYRA_VERSION, log });
    log(`serving on ${daemon.url} (state ${daemon.paths.root}, journal head ${daemon.journal.durable.seq}; API token in ${daemon.adminTokenPath})`, {
      port: daemon.port,
      state: daemon.paths.root,
      tokenFile: daemon.adminTokenPath,
    });
    log(`web console at ${daemon.url}/ (log in with the admin token from ${daemon.adminTokenPath})`, { console: `${daemon.url}/` });
    reload = () => void daemon.reloadPolicies().catch((error: unknown) => log(`policy reload failed: ${(error as Error).message}`));
    await new Promise<void>((resolve) => {
      onStop = (reason) => {
        onStop = () => undefined; // a second signal while stopping changes nothing
        daemon.stop(reason).then(resolve, (error: unknown) => {
          log(`stop failed: ${(error as Error).message}`);
          stopFailed = true;
          resolve();
        });
      };
      if (early) onStop(early);
      // Another process may now write the state directory: stop, and say so in the exit code.
      void daemon.lockLost.then(() => {
        lockLost = true;
        onStop?.('the state lock was lost');
      });
    });
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    process.off('SIGHUP', hup);
  }
  return stopFailed || lockLost ? 2 : 0;
}
