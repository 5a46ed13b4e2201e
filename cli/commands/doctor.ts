import { Chalk } from 'chalk';
import type { Command } from 'commander';
import { loadSqlJs } from '../../core/base/sqljs.ts';
import { loadCedar } from '../../core/policy/cedar-runtime.ts';
import { action, type CliRun } from '../program.ts';
import { colourEnabled, printJson, printText } from '../output.ts';
import { PALYRA_VERSION } from '../version.ts';

/** Where palyrad is running: the facts a bug report needs first. */
interface RuntimeInfo {
  name: 'node' | 'deno';
  version: string;
  platform: string;
  arch: string;
  /** True when running as a Node single executable application (dist/palyrad). */
  sea: boolean;
}

/** The outcome of loading one WebAssembly component. */
type ComponentReport =
  | { ok: true; version: string; loadMs: number }
  | { ok: false; error: string; loadMs: number };

/** What `palyrad doctor --json` prints. */
interface DoctorReport {
  ok: boolean;
  palyrad: string;
  runtime: RuntimeInfo;
  components: { sqljs: ComponentReport; cedar: ComponentReport };
}

/** Registers `palyrad doctor`: checks that the runtime can load every embedded engine. */
export function registerDoctorCommand(program: Command, run: CliRun): void {
  program
    .command('doctor')
    .description('report the runtime and check that the embedded SQLite (sql.js) and Cedar engines load')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExit codes: 0 everything loaded, 1 a component failed to load (named on stderr, or in the JSON).')
    .action(
      action(run, async (opts: { json?: boolean }) => {
        const report = await diagnose();
        if (opts.json) printJson(report);
        else printText(renderReport(report));
        for (const [name, c] of Object.entries(report.components)) {
          if (!c.ok && !opts.json) process.stderr.write(`palyrad: Cannot load ${name}: ${c.error}\n`);
        }
        return report.ok ? 0 : 1;
      }),
    );
}

async function diagnose(): Promise<DoctorReport> {
  // Sequential on purpose: each load time is then that component's own cost.
  const sqljs = await timed(async () => {
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    try {
      return String(db.exec('SELECT sqlite_version()')[0]?.values[0]?.[0]);
    } finally {
      db.close();
    }
  });
  const cedar = await timed(async () => (await loadCedar()).getCedarVersion());
  return { ok: sqljs.ok && cedar.ok, palyrad: PALYRA_VERSION, runtime: runtimeInfo(), components: { sqljs, cedar } };
}

async function timed(load: () => Promise<string>): Promise<ComponentReport> {
  const start = performance.now();
  const ms = () => Math.round((performance.now() - start) * 10) / 10;
  try {
    const version = await load();
    return { ok: true, version, loadMs: ms() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error), loadMs: ms() };
  }
}

function runtimeInfo(): RuntimeInfo {
  const deno = process.versions.deno;
  const base = { platform: process.platform, arch: process.arch, sea: isSea() };
  // Deno reports a Node compatibility version in process.versions.node; show its own.
  return deno ? { name: 'deno', version: deno, ...base } : { name: 'node', version: process.versions.node, ...base };
}

function isSea(): boolean {
  // Not `await import('node:sea')`: a SEA's main script cannot use dynamic import() on
  // Node 20. getBuiltinModule (Node >= 20.16) is synchronous; Deno returns undefined.
  try {
    const sea = process.getBuiltinModule?.('node:sea') as { isSea?: () => boolean } | undefined;
    return sea?.isSea?.() === true;
  } catch {
    return false;
  }
}

function renderReport(r: DoctorReport): string {
  const c = new Chalk({ level: colourEnabled() ? 1 : 0 });
  const line = (label: string, value: string) => `${c.dim(label.padEnd(10))}${value}`;
  const component = (label: string, what: string, x: ComponentReport) =>
    x.ok
      ? line(label, `${c.green('ok')}      ${what} ${x.version} ${c.dim(`(${x.loadMs} ms)`)}`)
      : line(label, `${c.red('failed')}  ${x.error} ${c.dim(`(${x.loadMs} ms)`)}`);
  return [
    line('palyrad', r.palyrad),
    line('runtime', `${r.runtime.name} ${r.runtime.version} (${r.runtime.platform}-${r.runtime.arch}${r.runtime.sea ? ', single executable' : ''})`),
    component('sql.js', 'SQLite', r.components.sqljs),
    component('cedar', 'Cedar', r.components.cedar),
  ].join('\n');
}
