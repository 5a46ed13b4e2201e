import { Command, Option } from 'commander';
import { action, type CliRun } from '../program.ts';
import { positiveIntOrZero, stateRoot } from '../state.ts';
import { PALYRA_VERSION } from '../version.ts';

/** Registers `palyrad serve`. */
export function registerServeCommand(program: Command, run: CliRun): void {
  program
    .command('serve')
    .description('run the daemon in the foreground: lock the state directory, open the journal, serve HTTP on 127.0.0.1')
    .option('--port <port>', 'TCP port on 127.0.0.1 (0 picks a free one)', process.env.PALYRA_PORT ?? '7142')
    .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
    .addHelpText('after', '\nStops cleanly on SIGINT or SIGTERM: flushes the journal, signs a final checkpoint, removes the lock.\nExit codes: 0 stopped cleanly, 2 could not start (state locked, port in use, I/O error) or could not stop cleanly.')
    .action(
      action(run, async (opts: { port: string; logFormat: 'text' | 'json' }, cmd: Command) => {
        const port = positiveIntOrZero('--port', opts.port, 65535);
        const log = (message: string, fields?: Record<string, unknown>) => {
          if (opts.logFormat === 'json') process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), msg: message, ...fields })}\n`);
          else process.stderr.write(`palyrad: ${message}\n`);
        };
        // Invariant: signal handlers are installed before anything can be signalled, so a
        // SIGINT/SIGTERM during start-up or right after "serving on" still stops cleanly.
        let onStop: ((signal: NodeJS.Signals) => void) | null = null;
        let early: NodeJS.Signals | null = null;
        let stopFailed = false;
        const handler = (signal: NodeJS.Signals) => (onStop ? onStop(signal) : (early ??= signal));
        process.on('SIGINT', handler);
        process.on('SIGTERM', handler);
        try {
          // Loaded on use: the daemon pulls in the tool runtime (undici, Ajv), which every
          // other command, `--version` included, would otherwise pay for at start-up.
          const { startDaemon } = await import('../../core/daemon/daemon.ts');
          const daemon = await startDaemon({ stateDir: stateRoot(cmd), port, version: PALYRA_VERSION, log });
          log(`serving on http://127.0.0.1:${daemon.port} (state ${daemon.paths.root}, journal head ${daemon.journal.durable.seq})`, {
            port: daemon.port,
            state: daemon.paths.root,
          });
          await new Promise<void>((resolve) => {
            onStop = (signal) => {
              onStop = () => undefined; // a second signal while stopping changes nothing
              daemon.stop(`received ${signal}`).then(resolve, (error: unknown) => {
                log(`stop failed: ${(error as Error).message}`);
                stopFailed = true;
                resolve();
              });
            };
            if (early) onStop(early);
          });
        } finally {
          process.off('SIGINT', handler);
          process.off('SIGTERM', handler);
        }
        return stopFailed ? 2 : 0;
      }),
    );
}
