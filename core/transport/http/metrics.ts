/** One Prometheus sample: a metric name, its labels and its value. */
export interface Sample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels?: Record<string, string>;
}

/**
 * Renders samples in the Prometheus text exposition format (version 0.0.4): one HELP and
 * TYPE line per metric name, then its samples.
 */
export function renderPrometheus(samples: readonly Sample[]): string {
  const lines: string[] = [];
  const described = new Set<string>();
  for (const s of samples) {
    if (!described.has(s.name)) {
      described.add(s.name);
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
    }
    const labels = s.labels ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',')}}` : '';
    lines.push(`${s.name}${labels} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
  return `${lines.join('\n')}\n`;
}
