/**
 * Writes the golden tapes of the current tape version, fixtures/tapes/v<N>/<scenario>.tape.jsonl
 * (version 1 tapes are the files directly in fixtures/tapes, kept as recorded): one real run per scenario
 * (scripted model, real tools registry, real Cedar policies and approvals), with a counting
 * clock and counting ids, so running this twice writes the same bytes.
 *
 *   node --import tsx scripts/make-golden-tapes.ts [--check]
 *
 * Invariant: committed tapes are never rewritten by the tests. test/golden-tapes.test.ts
 * replays the committed files, so a change that breaks replay of an older tape fails there
 * instead of being hidden by regenerating. Regenerate only for a new scenario, and then
 * keep the old files readable (a new tape version gets new file names).
 * With --check, nothing is written: it exits 1 when a committed file differs from what
 * this code records now (that is expected only after an intended change of what runs record).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonValue } from '../core/base/index.ts';
import { serializeTapeFile, TAPE_VERSION } from '../core/agent/index.ts';
import { recordTape, SCENARIOS } from '../test/helpers/recorded-run.ts';

const OUT = join(import.meta.dirname, '..', 'fixtures', 'tapes', `v${TAPE_VERSION}`);
const check = process.argv.includes('--check');
// The tools' context needs a folder; echo and the stand-ins never touch it.
const scratch = mkdtempSync(join(tmpdir(), 'palyra-golden-'));
let differing = 0;
try {
  mkdirSync(OUT, { recursive: true });
  for (const scenario of SCENARIOS) {
    const runId = `run-${scenario}`;
    const sessionId = 'session-golden';
    const { events } = await recordTape({ scenario, runId, sessionId }, { stateDir: scratch });
    const text = serializeTapeFile(
      { runId, sessionId, origin: null },
      events.map((e) => ({ seq: null, hash: null, kind: e.kind, payload: e.payload as unknown as JsonValue })),
    );
    const file = join(OUT, `${scenario}.tape.jsonl`);
    if (check) {
      let old = '';
      try {
        old = readFileSync(file, 'utf8');
      } catch {
        // a missing file differs
      }
      if (old !== text) {
        differing++;
        process.stdout.write(`differs: ${file}\n`);
      }
    } else {
      writeFileSync(file, text);
      process.stdout.write(`wrote ${file} (${events.length} events)\n`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exitCode = differing > 0 ? 1 : 0;
