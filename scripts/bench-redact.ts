/**
 * Measures the journal redactor on typical payloads: one with nothing to redact (the
 * common case on every append) and one carrying two secrets.
 * Run: node --import tsx scripts/bench-redact.ts
 */
import { Redactor } from '../core/journal/redact.ts';
import type { JsonValue } from '../core/base/index.ts';

// Built at runtime so secret scanners do not flag this file.
const providerKey = ['sk', 'proj', 'Zx81bQ2vLm04TtRa9KwYc3NdPe'].join('-');
const adminToken = ['palyra', 'admin', '5f1c0e9a7b3d42e8a6c1'].join('_');

const clean: JsonValue = {
  type: 'tool.call',
  runId: 'run_01HZX3M8Q4K7V2B9C6D1E5F0GH',
  seq: 42,
  tool: 'fs.read',
  args: { path: 'src/server/router.ts', maxBytes: 65536, encoding: 'utf8' },
  usage: { prompt_tokens: 1200, completion_tokens: 85, total_tokens: 1285 },
  note: 'Reading the entry point to find where the routes are registered.',
  at: '2025-01-14T10:22:31.512Z',
};

const withSecrets: JsonValue = {
  type: 'tool.call',
  runId: 'run_01HZX3M8Q4K7V2B9C6D1E5F0GH',
  seq: 43,
  tool: 'http.fetch',
  args: { url: 'https://api.example.com/v1/items', headers: { authorization: `Bearer ${adminToken}` } },
  usage: { prompt_tokens: 1200, completion_tokens: 85, total_tokens: 1285 },
  note: `The script exported OPENAI_KEY=${providerKey} before calling the API.`,
  at: '2025-01-14T10:22:31.512Z',
};

const redactor = new Redactor({ knownSecrets: [providerKey, adminToken] });

function bench(name: string, payload: JsonValue): void {
  const bytes = Buffer.byteLength(JSON.stringify(payload));
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += redactor.redact(payload).count; // warm-up
  const iterations = 500_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += redactor.redact(payload).count;
  const ns = Number(process.hrtime.bigint() - start);
  const perOp = ns / iterations;
  const count = redactor.redact(payload).count;
  console.log(
    `${name.padEnd(14)} ${bytes} bytes, ${count} redactions: ` +
      `${Math.round(1e9 / perOp).toLocaleString('en-US')} ops/s, ${(perOp / 1000).toFixed(2)} µs/op`,
  );
  // Uses the results so the loop cannot be optimised away.
  if (sink < 0) throw new Error('unreachable');
}

bench('nothing', clean);
bench('two secrets', withSecrets);

/**
 * Text built to make the rules scan again and again (the redactor runs on the daemon's
 * event loop, over caller data). Linear rules take about twice as long for twice the text;
 * a quadratic one four times. The baseline is one regex pass over the same text.
 */
const adversarial: Record<string, string> = {
  'password="a" ': 'password="a" ',
  'password="\\" ': 'password="\\" ',
  'token="a ': 'token="a ',
  'password: (no newline)': 'password: ',
  '--token x ': '--token x ',
  'mysql -pX ': 'mysql -pX ',
  '[[[… (deep JSON)': '[',
  'keykeykey': 'key',
};
const MIB = 1024 * 1024;
console.log('\nadversarial text: ms for 1 MiB / 4 MiB (ratio; 4 = linear), baseline regex pass ms for 4 MiB');
for (const [name, unit] of Object.entries(adversarial)) {
  const time = (bytes: number): [number, number] => {
    let text = unit.repeat(Math.ceil(bytes / unit.length));
    if (unit === '[') text = '['.repeat(bytes / 2) + ']'.repeat(bytes / 2);
    const start = performance.now();
    redactor.redact({ text });
    const took = performance.now() - start;
    const baseStart = performance.now();
    /[^\s]{1000}/.test(text);
    return [took, performance.now() - baseStart];
  };
  const [one] = time(MIB);
  const [four, baseline] = time(4 * MIB);
  console.log(`${name.padEnd(24)} ${one.toFixed(0).padStart(5)} / ${four.toFixed(0).padStart(5)} ms (${(four / one).toFixed(1)}), baseline ${baseline.toFixed(0)} ms`);
}
