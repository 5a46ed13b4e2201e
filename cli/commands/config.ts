import { Option, type Command } from 'commander';
import { printJson, printText, printWarning } from '../output.ts';
import { action, type CliRun } from '../program.ts';
import { stateRoot } from '../state.ts';

type ConfigModules = {
  loader: typeof import('../../core/daemon/config.ts');
  listing: typeof import('../../core/daemon/config-listing.ts');
  settings: typeof import('../../core/daemon/config-settings.ts');
};

/** The config loader, loaded on first use: TOML and Ajv are not for `--version` to pay. */
async function modules(): Promise<ConfigModules> {
  const [loader, listing, settings] = await Promise.all([
    import('../../core/daemon/config.ts'),
    import('../../core/daemon/config-listing.ts'),
    import('../../core/daemon/config-settings.ts'),
  ]);
  return { loader, listing, settings };
}

const configOption = () => new Option('--config <file>', 'config file (default: config.toml in the state directory, if present)');

/** Registers `palyrad config show` and `palyrad config check`. */
export function registerConfigCommands(program: Command, run: CliRun): void {
  const config = program
    .command('config')
    .description('show or check the effective configuration: defaults < config.toml < PALYRA_* environment < flags');

  config
    .command('show')
    .description('print the effective configuration and where each value came from, with every secret redacted')
    .addOption(configOption())
    .option('--json', 'print {file, config, sources} as one JSON object')
    .addHelpText('after', '\nExit codes: 0 printed, 2 the configuration is invalid or unreadable (the message names the file or variable and the key).')
    .action(
      action(run, async (opts: { config?: string; json?: boolean }, cmd: Command) => {
        const m = await modules();
        const loaded = m.loader.loadConfig({ stateDir: stateRoot(cmd), configPath: opts.config, env: process.env });
        const redacted = m.listing.redactConfig(loaded.config, process.env);
        if (opts.json) {
          printJson({ file: loaded.file, config: redacted, sources: loaded.sources });
          return 0;
        }
        const lines = [`# palyrad configuration (file: ${loaded.file ?? 'none, defaults'})`];
        const rows = m.listing.flattenConfig(redacted).map(([path, value]) => {
          const source = loaded.sources[path] ?? 'default';
          const env = source === 'env' ? m.settings.SETTINGS.find((s) => s.path === path)?.env : undefined;
          return [`${path} = ${m.listing.formatValue(value)}`, env ? `env ${env}` : source] as const;
        });
        const width = Math.min(72, Math.max(...rows.map(([left]) => left.length)));
        for (const [left, source] of rows) lines.push(`${left.padEnd(width)}  # ${source}`);
        printText(lines.join('\n'));
        return 0;
      }),
    );

  config
    .command('check')
    .description('validate the configuration file and PALYRA_* environment without starting the daemon')
    .addOption(configOption())
    .option('--json', 'print {ok, file, warnings} as one JSON object')
    .addHelpText('after', '\nExit codes: 0 valid, 2 invalid or unreadable (the message names the file or variable, the key and the problem).')
    .action(
      action(run, async (opts: { config?: string; json?: boolean }, cmd: Command) => {
        const m = await modules();
        const loaded = m.loader.loadConfig({ stateDir: stateRoot(cmd), configPath: opts.config, env: process.env });
        // What serve checks before it starts: where it may listen, its TLS files (read and
        // parsed, wherever it listens), that the workspace can be created, and every
        // provider (its key variable set, its script valid). Nothing is contacted.
        const [{ checkBind }, { loadTlsFiles }, { checkWorkspace }, { providerFromConfig }, { systemClock }, { unknownEnvWarnings }] = await Promise.all([
          import('../../core/daemon/bind-policy.ts'),
          import('../../core/daemon/tls-files.ts'),
          import('../../core/daemon/workspace-dir.ts'),
          import('../../core/daemon/providers-from-config.ts'),
          import('../../core/base/index.ts'),
          import('../../core/daemon/config-unknown-env.ts'),
        ]);
        checkBind(loaded.config.server.host, { tls: loaded.config.server.tls, tokenConfigured: true });
        loadTlsFiles(loaded.config.server.tls);
        checkWorkspace(loaded.config.tools.workspace);
        const { assertWorkspaceApart } = await import('../../core/gateway/workspace-apart.ts');
        assertWorkspaceApart(loaded.config.tools.workspace, stateRoot(cmd));
        await providerFromConfig(loaded.config.providers, process.env, systemClock);
        // Warnings, not errors: a stray variable changes nothing, but a typo means a setting was meant.
        const warnings = unknownEnvWarnings(process.env, loaded.config);
        // With --json they are in the answer itself, not also on stderr.
        if (!opts.json) for (const warning of warnings) printWarning(warning);
        if (opts.json) printJson({ ok: true, file: loaded.file, warnings });
        else printText(`ok: configuration is valid (file: ${loaded.file ?? 'none, defaults'}; PALYRA_* environment applied)`);
        return 0;
      }),
    );
}
