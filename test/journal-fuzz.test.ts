// Fuzzes the offline readers of a journal with the damage and forgeries an attacker who
// can write the state directory would try. The promise under test: `verifyJournal` turns
// any of it into problems (each with a documented code) and never throws, hangs or
// allocates what a length field claims; the other readers fail with a PalyraError.
// Deterministic (seeded), and bounded to a few seconds.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { PalyraError } from '../core/base/index.ts';
import { JournalStore, loadTrustedKey, newestRecords, readRecords, verifyJournal, type VerifyReport } from '../core/journal/index.ts';
import { journalOptionsIn } from './helpers/journal-fixture.ts';
import { frameAround } from './helpers/journal-surgery.ts';
import { tempDir } from './helpers/temp-dir.ts';
import { hostileBody, hostileCheckpointLine, type Random } from './helpers/hostile-inputs.ts';

/** Every code docs/journal-format.md lists for `journal verify`. */
const DOCUMENTED_CODES = new Set(
  [...readFileSync(join(import.meta.dirname, '..', 'docs', 'journal-format.md'), 'utf8').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1] as string),
);

/** mulberry32: small, fast, and the same sequence on every run. */
function seeded(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number] };
}

/** A closed journal over three segments with checkpoints at 8 and at the head, as files in memory. */
async function pristineJournal(): Promise<{ files: Map<string, Buffer>; pubPath: string; events: number }> {
  const root = tempDir('palyra-fuzz-src-');
  const options = journalOptionsIn(root, { maxSegmentBytes: 1500 });
  const store = await JournalStore.open(options);
  for (let i = 2; i <= 8; i++) await store.append({ kind: 'note.added', payload: { i, text: `event ${i}` }, sessionId: 's-1' });
  await store.checkpoint();
  for (let i = 9; i <= 16; i++) await store.append({ kind: 'note.added', payload: { i, text: `event ${i}` }, runId: 'run-1' });
  await store.close();
  const files = new Map<string, Buffer>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith('.sqlite')) files.set(relative(options.dir, path), readFileSync(path));
    }
  };
  walk(options.dir);
  return { files, pubPath: options.pubPath, events: 16 };
}

/** One journal folder to damage: its segment files and checkpoint text, editable in memory. */
interface Victim {
  files: Map<string, Buffer>;
  /** Extra entries to create in segments/ (not plain files). */
  oddEntries: ('dir' | 'dangling-link' | 'link-to-dir' | 'link-to-file')[];
  /** True when some change must make the journal fail or lose its anchor. */
  mustBeNoticed: boolean;
  log: string[];
}

const segmentKeys = (v: Victim) => [...v.files.keys()].filter((k) => k.startsWith('segments/seg-')).sort();

/** The frames (raw bytes) of a segment as it is now, or null once it no longer parses cleanly. */
function framesOf(bytes: Buffer): Buffer[] | null {
  const frames: Buffer[] = [];
  for (let o = 16; o < bytes.length; ) {
    if (o + 8 > bytes.length) return null;
    const length = bytes.readUInt32BE(o);
    if (length === 0 || o + 8 + length > bytes.length) return null;
    frames.push(bytes.subarray(o, o + 8 + length));
    o += 8 + length;
  }
  return frames;
}

type Mutation = (v: Victim, r: Random) => void;

const MUTATIONS: Record<string, Mutation> = {
  flipByte(v, r) {
    const key = r.pick([...segmentKeys(v), 'checkpoints.jsonl']);
    const bytes = Buffer.from(v.files.get(key) as Buffer);
    const at = r.int(bytes.length);
    bytes[at] = (bytes[at] as number) ^ (1 + r.int(255));
    v.files.set(key, bytes);
    v.mustBeNoticed = true;
    v.log.push(`flip ${key}@${at}`);
  },
  truncate(v, r) {
    const key = r.pick(segmentKeys(v));
    const bytes = v.files.get(key) as Buffer;
    const at = r.int(bytes.length);
    v.files.set(key, bytes.subarray(0, at));
    v.mustBeNoticed = true;
    v.log.push(`truncate ${key}@${at}`);
  },
  insertGarbage(v, r) {
    const key = r.pick(segmentKeys(v));
    const bytes = v.files.get(key) as Buffer;
    const at = r.int(bytes.length);
    const garbage = Buffer.from(Array.from({ length: 1 + r.int(64) }, () => 1 + r.int(255)));
    v.files.set(key, Buffer.concat([bytes.subarray(0, at), garbage, bytes.subarray(at)]));
    v.mustBeNoticed = true;
    v.log.push(`garbage ${key}@${at}+${garbage.length}`);
  },
  reorderFrames(v, r) {
    const key = r.pick(segmentKeys(v));
    const bytes = v.files.get(key) as Buffer;
    const frames = framesOf(bytes);
    if (!frames || frames.length < 1) return;
    const i = r.int(frames.length);
    const j = r.int(frames.length);
    const how = r.pick(['swap', 'duplicate', 'delete'] as const);
    if (how === 'swap') [frames[i], frames[j]] = [frames[j] as Buffer, frames[i] as Buffer];
    else if (how === 'duplicate') frames.splice(j, 0, frames[i] as Buffer);
    else frames.splice(i, 1);
    v.files.set(key, Buffer.concat([bytes.subarray(0, 16), ...frames]));
    v.mustBeNoticed ||= how !== 'swap' || i !== j;
    v.log.push(`${how} ${key} ${i},${j}`);
  },
  hugeLength(v, r) {
    const key = r.pick(segmentKeys(v));
    const bytes = Buffer.from(v.files.get(key) as Buffer);
    const frames = framesOf(bytes);
    if (!frames || frames.length === 0) return;
    const at = frames[r.int(frames.length)]?.byteOffset as number - bytes.byteOffset;
    const length = r.pick([0xffffffff, 0x80000000, 0x04000001, 0x04000000, 0x03ffffff, bytes.length, 0]);
    bytes.writeUInt32BE(length, at);
    v.files.set(key, bytes);
    v.mustBeNoticed = true;
    v.log.push(`length ${key}@${at}=${length}`);
  },
  hostileBody(v, r) {
    const key = r.pick(segmentKeys(v));
    const bytes = v.files.get(key) as Buffer;
    const frames = framesOf(bytes);
    if (!frames || frames.length === 0) return;
    const i = r.int(frames.length);
    const forged = hostileBody((frames[i] as Buffer).subarray(8), r);
    if (!forged) return;
    const { body, what } = forged;
    frames[i] = frameAround(body);
    v.files.set(key, Buffer.concat([bytes.subarray(0, 16), ...frames]));
    v.log.push(`body ${key}#${i}: ${what}`);
  },
  segmentHeader(v, r) {
    const key = r.pick(segmentKeys(v));
    const bytes = Buffer.from(v.files.get(key) as Buffer);
    const edit = r.pick(['version', 'magic', 'reserved'] as const);
    if (edit === 'version') bytes.writeUInt32BE(r.pick([0, 2, 0xffffffff]), 8);
    else if (edit === 'magic') {
      const at = r.int(8);
      bytes[at] = (bytes[at] as number) ^ 0x20;
    }
    else bytes.writeUInt32BE(1 + r.int(0xfffffffe), 12);
    v.files.set(key, bytes);
    v.mustBeNoticed = true;
    v.log.push(`header ${key} ${edit}`);
  },
  checkpointLine(v, r) {
    const lines = (v.files.get('checkpoints.jsonl') as Buffer).toString('utf8').split('\n');
    const at = r.int(lines.length - 1);
    const { line, what } = hostileCheckpointLine(lines[at] as string, r);
    lines[at] = line;
    v.files.set('checkpoints.jsonl', Buffer.from(lines.join('\n'), 'utf8'));
    // Whitespace around a line's JSON does not matter (the signature covers its canonical form).
    v.mustBeNoticed ||= what !== 'crlf';
    v.log.push(`checkpoint line ${at + 1}: ${what}`);
  },
  extraFile(v, r) {
    const name = r.pick(['seg-00000000000000000099.log', 'seg-1.log', 'seg-00000000000000000005.log.tmp', 'SEG-00000000000000000001.LOG', 'seg-99999999999999999999.log', '.seg-00000000000000000001.log']);
    const content = r.pick([Buffer.alloc(0), Buffer.from('PALYRAJL\0\0\0\x01\0\0\0\0', 'latin1'), Buffer.from('garbage'), v.files.get(segmentKeys(v)[0] as string) as Buffer]);
    v.files.set(`segments/${name}`, content);
    // A newest segment holding no frame yet (a roll a crash interrupted) is no damage.
    v.mustBeNoticed ||= /^seg-\d{20}\.log$/.test(name) && content.length > 16;
    v.log.push(`extra ${name} (${content.length} bytes)`);
  },
  oddEntry(v, r) {
    const kind = r.pick(['dir', 'dangling-link', 'link-to-dir', 'link-to-file'] as const);
    v.oddEntries.push(kind);
    v.mustBeNoticed ||= kind !== 'link-to-file';
    v.log.push(`odd entry ${kind}`);
  },
};

function materialize(v: Victim, dir: string): void {
  mkdirSync(join(dir, 'segments'), { recursive: true });
  for (const [key, bytes] of v.files) writeFileSync(join(dir, key), bytes);
  v.oddEntries.forEach((kind, i) => {
    const path = join(dir, 'segments', `seg-0000000000000000070${i}.log`);
    if (kind === 'dir') mkdirSync(path);
    else if (kind === 'dangling-link') symlinkSync(join(dir, 'nowhere'), path);
    else if (kind === 'link-to-dir') symlinkSync(join(dir, 'segments'), path);
    else symlinkSync(join(dir, 'segments', segmentKeys(v)[0]?.slice('segments/'.length) ?? 'x'), path);
  });
}

function assertWellFormed(report: VerifyReport, context: string): void {
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(report)), context);
  for (const p of report.problems) {
    assert.ok(DOCUMENTED_CODES.has(p.code), `${context}: undocumented code ${p.code}`);
    assert.ok(p.seq === null || Number.isSafeInteger(p.seq), `${context}: seq ${p.seq}`);
    assert.ok(typeof p.message === 'string' && p.message.length > 0 && p.message.length <= 1024, `${context}: message of ${p.message.length} chars`);
    // Security: an auditor reads messages in a terminal; attacker bytes must not reach it raw.
    assert.doesNotMatch(p.message, /[\u0000-\u001f\u007f-\u009f]/, `${context}: control character in ${JSON.stringify(p.message.slice(0, 200))}`);
  }
  if (!report.ok) assert.ok(report.problems.length > 0, `${context}: not ok without a listed problem`);
}

/** The other readers may refuse a damaged journal, but only with a PalyraError. */
function assertReadersFailCleanly(dir: string, context: string): void {
  for (const read of [() => [...readRecords(join(dir, 'segments'))], () => newestRecords(join(dir, 'segments'), 5)]) {
    try {
      read();
    } catch (error) {
      assert.ok(error instanceof PalyraError, `${context}: reader threw ${String(error)}`);
    }
  }
}

test('verify reports random damage and forgeries as problems, never a crash', async () => {
  const pristine = await pristineJournal();
  const trustedKey = loadTrustedKey(pristine.pubPath);
  const root = tempDir('palyra-fuzz-');
  const random = seeded(0x5eed);
  const names = Object.keys(MUTATIONS);
  const started = performance.now();
  const heapBefore = process.memoryUsage().rss;
  const iterations = 400;
  const failures: string[] = [];
  for (let n = 0; n < iterations; n++) {
    const victim: Victim = { files: new Map(pristine.files), oddEntries: [], mustBeNoticed: false, log: [] };
    for (let m = 1 + random.int(3); m > 0; m--) (MUTATIONS[random.pick(names)] as Mutation)(victim, random);
    const dir = join(root, `case-${n}`);
    materialize(victim, dir);
    const context = `case ${n} [${victim.log.join('; ')}]`;
    try {
      const t = performance.now();
      let report: VerifyReport;
      try {
        report = await verifyJournal(dir, { trustedKey: n % 10 === 9 ? null : trustedKey });
      } catch (error) {
        assert.fail(`${context}: verify threw ${(error as Error).stack}`);
      }
      const ms = performance.now() - t;
      assert.ok(ms < 2000, `${context}: took ${Math.round(ms)} ms`);
      assertWellFormed(report, context);
      if (victim.mustBeNoticed && n % 10 !== 9) assert.ok(!(report.ok && report.anchored), `${context}: damage verified as anchored`);
      assertReadersFailCleanly(dir, context);
    } catch (error) {
      failures.push((error as Error).message.slice(0, 600));
    }
  }
  // All failures at once: one run of the fuzzer shows every kind of defect it hit.
  assert.deepEqual(failures, []);
  const grown = (process.memoryUsage().rss - heapBefore) / 1024 / 1024;
  assert.ok(grown < 400, `memory grew by ${Math.round(grown)} MiB`);
  assert.ok(performance.now() - started < 45_000);
});
