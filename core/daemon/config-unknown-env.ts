/**
 * `PALYRA_*` variables palyrad does not read. A typo (`PALYRA_PROT=8080`) would otherwise
 * be ignored without a word and the default used; `serve` and `config check` warn, one
 * line per variable, and carry on.
 */
import type { PalyraConfig } from './config-schema.ts';
import { SETTINGS } from './config-settings.ts';

/** Variables palyrad reads that are not config keys (see README.md, "Environment"). */
const OTHER_VARIABLES = ['PALYRA_STATE_DIR', 'PALYRA_DEBUG', 'PALYRA_WORKER_TOKEN'];

/**
 * One warning per `PALYRA_*` variable in `env` that palyrad does not read, sorted by
 * name, with the nearest known name when one is close. A variable a provider's
 * `apiKeyEnv` names is read, so it is known. Values are never quoted.
 */
export function unknownEnvWarnings(env: NodeJS.ProcessEnv, config: Pick<PalyraConfig, 'providers'>): string[] {
  const known = new Set([...SETTINGS.map((s) => s.env), ...OTHER_VARIABLES]);
  for (const provider of config.providers) if (provider.type !== 'scripted' && provider.apiKeyEnv !== null) known.add(provider.apiKeyEnv);
  return Object.keys(env)
    .filter((name) => name.startsWith('PALYRA_') && !known.has(name))
    .sort()
    .map((name) => {
      const near = nearest(name, known);
      return `${name} is not a palyrad variable and is ignored${near ? ` (did you mean ${near}?)` : ''}`;
    });
}

function nearest(name: string, known: Set<string>): string | null {
  let best: string | null = null;
  let bestDistance = 3; // more than two edits away is no suggestion
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] as number;
}
