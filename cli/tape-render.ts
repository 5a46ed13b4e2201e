/**
 * Human text for `palyrad tape …`: the run list, one line per tape step, and the replay
 * verdict. Payloads are read defensively (`show` must work on a tape that `parseTape`
 * would refuse, so an operator can look at what is wrong with it).
 */
import chalk from 'chalk';
import { canonicalJson } from '../core/base/index.ts';
import type { Divergence, ReplayReport, TapeFileEvent } from '../core/agent/index.ts';
import type { RunSummary } from '../core/gateway/run-tape.ts';
import { colourEnabled, terminalSafe } from './output.ts';

const paint = (): typeof chalk => {
  chalk.level = colourEnabled() ? (Math.max(chalk.level, 1) as 1 | 2 | 3) : 0;
  return chalk;
};

type Fields = Record<string, unknown>;

/** A recorded value as text; its terminal controls escaped (a model or a tool wrote it), colour sequences too. */
const str = (v: unknown): string => terminalSafe(typeof v === 'string' ? v : v === null || v === undefined ? '-' : JSON.stringify(v), false);
const iso = (at: unknown): string => (typeof at === 'number' && Number.isFinite(at) ? new Date(at).toISOString() : '-');

/** `text` cut to `max` characters on one line. */
export function excerpt(text: string, max = 80): string {
  const flat = terminalSafe(text.replace(/\s+/g, ' ').trim(), false);
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The `tape list` table: one run a line, oldest first. */
export function runTable(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return 'no runs with a tape in this journal';
  const rows = runs.map((r) => [r.runId, r.sessionId ?? '-', r.model ?? '-', iso(r.startedAt), r.state === null ? 'unfinished' : `${r.state}: ${r.reason ?? ''}`, String(r.steps)]);
  const head = ['RUN', 'SESSION', 'MODEL', 'STARTED', 'STATE', 'STEPS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ');
  return [paint().bold(line(head)), ...rows.map(line)].join('\n');
}

/** The essentials of one step, after its kind. */
export function stepSummary(kind: string, p: Fields): string {
  const ref = `${str(p['tool'])} ${str(p['callId'])}`;
  switch (kind) {
    case 'run.started':
      return `model ${str(p['model'])} via ${str(p['providerId'])}, ${Array.isArray(p['messages']) ? p['messages'].length : '?'} message(s), ${Array.isArray(p['tools']) ? p['tools'].length : '?'} tool(s), policy set ${str(p['policySetHash']).slice(0, 12)}`;
    case 'run.transition':
      return `${str(p['from'])} → ${str(p['to'])}: ${str(p['reason'])}${p['interrupt'] ? ` (interrupt: ${str(p['interrupt'])})` : ''}`;
    case 'model.request':
      return `turn ${str(p['turn'])}, ${str(p['messageCount'])} message(s), request ${str(p['requestId'])}`;
    case 'model.response': {
      const calls = Array.isArray(p['toolCalls']) ? p['toolCalls'].map((c) => str((c as Fields)['name'])) : [];
      const parts = [`turn ${str(p['turn'])}`];
      if (typeof p['text'] === 'string' && p['text'] !== '') parts.push(JSON.stringify(excerpt(p['text'], 60)));
      if (calls.length > 0) parts.push(`calls ${calls.join(', ')}`);
      if (p['error']) parts.push(`error ${str((p['error'] as Fields)['code'])}: ${excerpt(str((p['error'] as Fields)['message']), 60)}`);
      if (p['interrupted']) parts.push(`interrupted (${str(p['interrupted'])})`);
      if (p['route']) parts.push(routeSummary(p['route'] as Fields));
      parts.push(`finish ${str(p['finish'])}`);
      return parts.join(', ');
    }
    case 'tool.proposed':
      return `${ref} ${excerpt(JSON.stringify(p['args'] ?? null), 60)}`;
    case 'tool.decision': {
      const reasons = Array.isArray(p['reasons']) ? p['reasons'].map(str).join('; ') : '';
      const approved = p['approval'] === 'approved' ? ' (after approval)' : '';
      return `${ref}: ${str(p['decision'])}${approved} by ${Array.isArray(p['policies']) && p['policies'].length > 0 ? p['policies'].map(str).join(', ') : '(no policy)'}${reasons ? ` — ${excerpt(reasons, 100)}` : ''}`;
    }
    case 'approval.requested':
      return `${ref}: approval ${str(p['approvalId'])} requested`;
    case 'approval.resolved': {
      const by = p['by'] ? ` by ${str(p['by'])}` : '';
      const scope = p['scope'] ? `, scope ${str(p['scope'])}` : '';
      const why = p['reason'] ? `: ${str(p['reason'])}` : p['interrupt'] ? ` (${str(p['interrupt'])})` : '';
      return `${ref}: approval ${str(p['approvalId'])} ${str(p['outcome'])}${by}${scope}${why}`;
    }
    case 'tool.result': {
      const outcome = p['ok'] === true ? `ok ${excerpt(JSON.stringify(p['output'] ?? null), 60)}` : `error ${str((p['error'] as Fields | null)?.['code'])}: ${excerpt(str((p['error'] as Fields | null)?.['message']), 80)}`;
      return `${ref} from ${str(p['source'])}: ${outcome}${typeof p['durationMs'] === 'number' ? ` (${p['durationMs']} ms)` : ''}`;
    }
    case 'run.finished': {
      const c = (p['counters'] ?? {}) as Fields;
      const final = typeof p['finalText'] === 'string' ? `, answer ${JSON.stringify(excerpt(p['finalText'], 60))}` : '';
      return `${str(p['state'])}: ${str(p['reason'])}; ${str(c['turns'])} turn(s), ${str(c['toolCalls'])} tool call(s), ${str(c['inputTokens'])}+${str(c['outputTokens'])} tokens${final}`;
    }
    default:
      return excerpt(JSON.stringify(p), 100);
  }
}

/** Where a turn went: `via b (small) after a (big) failed: overloaded`. */
function routeSummary(route: Fields): string {
  const failed = Array.isArray(route['failedOver']) ? (route['failedOver'] as Fields[]) : [];
  const after = failed.map((a) => ` after ${str(a['providerId'])} (${str(a['model'])}) failed: ${str((a['error'] as Fields | null)?.['code'])}`);
  return `via ${str(route['providerId'])} (${str(route['model'])})${after.join(',')}`;
}

/** The `tape show` timeline: a header, then one line per step. */
export function timeline(runId: string, sessionId: string | null, events: readonly TapeFileEvent[]): string {
  const c = paint();
  const first = events[0]?.payload as Fields | undefined;
  const started = first?.['at'] === undefined ? '' : `, started ${iso(first['at'])}`;
  const lines = [`run ${runId}${sessionId === null ? '' : ` (session ${sessionId})`}: ${events.length} step(s)${started}`];
  for (const e of events) {
    const p = (typeof e.payload === 'object' && e.payload !== null && !Array.isArray(e.payload) ? e.payload : {}) as Fields;
    const time = iso(p['at']).slice(11, 23) || '-';
    const kind = e.kind.padEnd(18);
    lines.push(`${c.bold(str(p['step']).padStart(4))}  ${c.dim(time)}  ${c.cyan(kind)}  ${stepSummary(e.kind, p)}`);
  }
  return lines.join('\n');
}

/** Which payload fields differ between the two sides of a divergence. */
export function differingFields(d: Divergence): string[] {
  if (d.expected === null || d.actual === null) return [];
  const a = d.expected.payload as unknown as Fields;
  const b = d.actual.payload as unknown as Fields;
  if (d.expected.kind !== d.actual.kind) return ['kind'];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null));
}

/** The `tape replay` verdict, divergences and what-if changes. */
export function replaySummary(runId: string, r: ReplayReport, whatIfSet: string | null): string {
  const c = paint();
  const lines: string[] = [];
  if (r.identical && r.unfinished) lines.push(`${c.green('identical')}: run ${runId} replayed ${r.steps} of ${r.recordedSteps} step(s) exactly as recorded; the tape is unfinished (no run.finished: the run was still going, or was cut off), so the replay stopped where it ends`);
  else if (r.identical) lines.push(`${c.green('identical')}: run ${runId} replayed ${r.steps} of ${r.recordedSteps} step(s) exactly as recorded; it ${r.outcome.state} (${r.outcome.reason})`);
  else {
    lines.push(`${c.red('DIVERGENT')}: run ${runId} replayed ${r.steps} step(s) against ${r.recordedSteps} recorded${r.unfinished ? ' (an unfinished tape)' : ''}; ${r.divergenceCount} step(s) differ`);
    for (const d of r.divergences) {
      const kind = d.expected?.kind ?? d.actual?.kind ?? '?';
      if (d.actual === null) lines.push(`  step ${d.step} ${kind}: recorded, but the replay never reached it`);
      else if (d.expected === null) lines.push(`  step ${d.step} ${kind}: replayed, but not on the recording`);
      else {
        const fields = differingFields(d);
        lines.push(`  step ${d.step} ${kind}: ${fields.join(', ')} differ${fields.length === 1 ? 's' : ''}`);
        const pick = (p: unknown) => excerpt(JSON.stringify(Object.fromEntries(fields.map((f) => [f, (p as Fields)[f] ?? null]))), 160);
        lines.push(`    recorded: ${pick(d.expected.payload)}`, `    replayed: ${pick(d.actual.payload)}`);
      }
    }
    if (r.divergenceCount > r.divergences.length) lines.push(`  … and ${r.divergenceCount - r.divergences.length} more`);
  }
  if (r.hashesUnchecked > 0) lines.push(`  ${r.hashesUnchecked} step(s): content hashes not compared, the journal redacted a secret the run saw`);
  if (whatIfSet !== null) {
    if (r.whatIf.length === 0) lines.push(`what-if (policy set ${whatIfSet.slice(0, 12)}): every recorded decision stays the same`);
    else {
      lines.push(`what-if (policy set ${whatIfSet.slice(0, 12)}): ${r.whatIf.length} recorded call(s) would be decided differently`);
      for (const w of r.whatIf) {
        const to = `${w.recorded.decision} → ${w.decided.decision}`;
        lines.push(`  step ${w.step} ${w.tool} ${w.callId} ${excerpt(JSON.stringify(w.args), 60)}: ${c.yellow(to)} by ${w.decided.policies.join(', ') || '(no policy)'}${w.reasons.length > 0 ? ` — ${excerpt(w.reasons.join('; '), 100)}` : ''}`);
        if (w.argsRedacted) lines.push('    (the journal redacted some of its arguments: judged on the redacted values, so this change may not be real)');
      }
    }
  }
  return lines.join('\n');
}
