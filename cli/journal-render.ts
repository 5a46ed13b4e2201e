import chalk from 'chalk';
import type { JournalEvent, VerifyReport } from '../core/journal/index.ts';
import { colourEnabled, terminalSafe } from './output.ts';

const paint = (): typeof chalk => {
  chalk.level = colourEnabled() ? Math.max(chalk.level, 1) as 1 | 2 | 3 : 0;
  return chalk;
};

/** One readable line per event: seq, time, kind, session/run, payload (shortened). */
export function eventLine(e: JournalEvent, maxPayload = 160): string {
  const c = paint();
  // Fields of a journal under audit are the writer's (a model's text among them): escaped, colour sequences too.
  const payload = terminalSafe(JSON.stringify(e.payload), false);
  const shown = payload.length > maxPayload ? `${payload.slice(0, maxPayload - 1)}…` : payload;
  const scope = terminalSafe([e.sessionId && `session=${e.sessionId}`, e.runId && `run=${e.runId}`].filter(Boolean).join(' '), false);
  const redacted = e.redactions > 0 ? c.yellow(` [${e.redactions} redacted]`) : '';
  return `${c.bold(String(e.seq).padStart(6))}  ${c.dim(new Date(e.ts).toISOString())}  ${c.cyan(terminalSafe(e.kind, false))}${scope ? `  ${scope}` : ''}  ${shown}${redacted}`;
}

/** A full, multi-line view of one event. */
export function eventDetail(e: JournalEvent): string {
  const c = paint();
  const rows: [string, string][] = [
    ['seq', String(e.seq)],
    ['id', e.id],
    ['time', `${new Date(e.ts).toISOString()} (${e.ts})`],
    ['kind', e.kind],
    ['actor', e.actor],
    ['principal', e.principal ?? '-'],
    ['channel', e.channel ?? '-'],
    ['session', e.sessionId ?? '-'],
    ['run', e.runId ?? '-'],
    ['redactions', String(e.redactions)],
    ['prev hash', e.prevHash],
    ['hash', e.hash],
  ];
  const head = rows.map(([k, v]) => `${c.dim(k.padEnd(11))}${terminalSafe(v, false)}`).join('\n');
  return `${head}\n${c.dim('payload')}\n${terminalSafe(JSON.stringify(e.payload, null, 2), false)}`;
}

/** The human verdict of `journal verify`. */
export function verifySummary(r: VerifyReport): string {
  const c = paint();
  const lines: string[] = [];
  const head = r.head ? `head ${r.head.seq} ${r.head.hash.slice(0, 16)}…` : 'empty';
  if (r.ok) {
    // DESIGN.md: an intact chain no checkpoint covers is "unanchored", not "ok" (a cut tail
    // or a rewrite by someone who can write the files would look the same).
    const verdict = r.anchored ? c.green('journal ok') : c.yellow('journal unanchored');
    lines.push(`${verdict}: ${r.events} events, ${head}, ${r.segments} segment(s)`);
    if (r.anchored) {
      lines.push(`anchored: checkpoint ${r.lastCheckpoint?.n} signed ${new Date(r.lastCheckpoint?.ts ?? 0).toISOString()} covers the head`);
    } else {
      const last = r.lastCheckpoint ? `the last checkpoint covers ${r.lastCheckpoint.size}` : 'there is no checkpoint';
      // `journal checkpoint` is refused beside a running daemon, which signs one itself.
      lines.push(c.yellow(`unanchored: no signed checkpoint covers the head (${last}); a running daemon signs one within 60 s and when it stops, else run 'palyrad journal checkpoint'`));
    }
  } else {
    lines.push(`${c.red('journal FAILED')}: ${r.problems.length} problem(s) in ${r.events} events, ${head}`);
    for (const p of r.problems) lines.push(`  ${(p.seq === null ? '-' : String(p.seq)).padStart(8)}  ${c.red(p.code.padEnd(27))}  ${p.message}`);
  }
  if (r.tornTail) lines.push(c.dim(`note: ${r.tornTail.segment} ends in a write cut by a crash at byte ${r.tornTail.offset}; the next writer cuts it off`));
  return lines.join('\n');
}

/** A progress bar on stderr, redrawn in place; only used on a TTY. */
export function progressBar(label: string): { update(done: number, total: number): void; finish(): void } {
  let lastDrawn = -1;
  return {
    update(done, total) {
      const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
      if (pct === lastDrawn) return;
      lastDrawn = pct;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(pct).padStart(3)}%`);
    },
    finish() {
      if (lastDrawn >= 0) process.stderr.write('\r\x1b[2K');
    },
  };
}
