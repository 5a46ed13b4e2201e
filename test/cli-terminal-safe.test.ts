import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, startCli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** A model's answer as it may come: sequences that retitle the window, clear the screen, hide or reorder text. */
const HOSTILE_TEXT = 'done\x1b]0;pwned\x07\x1b[2J\u009b31m\r\u202eevil\u2028';
/** Any character that acts on a terminal, but the CLI's own colour sequences, tab and newline. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]|\x1b(?!\[[0-9;]*m)/;

test('journal tail and show print a hostile payload inert, and their --json still parses to what was recorded', () => {
  const root = tempDir('palyra-cli-term-');
  const appended = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', JSON.stringify({ text: HOSTILE_TEXT }), '--json']);
  assert.equal(appended.code, 0, appended.stderr);
  const seq = String((JSON.parse(appended.stdout) as { seq: number }).seq);
  for (const args of [['journal', 'tail'], ['journal', 'show', seq], ['journal', 'tail', '--json'], ['journal', 'show', seq, '--json']]) {
    const r = runCli(['--state', root, ...args], { env: { FORCE_COLOR: '1' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(RAW_CONTROL.test(r.stdout), false, `${args.join(' ')} printed a terminal control: ${JSON.stringify(r.stdout)}`);
    assert.ok(r.stdout.includes('\\u009b') || r.stdout.includes('\\\\u009b'), `${args.join(' ')} shows the C1 control as an escape`);
  }
  const json = runCli(['--state', root, 'journal', 'show', seq, '--json']);
  assert.equal((JSON.parse(json.stdout) as { payload: { text: string } }).payload.text, HOSTILE_TEXT, 'the JSON value is unchanged');
  const tail = runCli(['--state', root, 'journal', 'tail', '--json']);
  assert.equal((JSON.parse(tail.stdout.trim().split('\n').at(-1) as string) as { payload: { text: string } }).payload.text, HOSTILE_TEXT);
});

test('the daemon\'s log lines escape terminal controls in what they quote', async () => {
  const root = tempDir('palyra-cli-term-log-');
  const hostileName = 'PALYRA_X\x1b]0;pwned\x07\u009b2J';
  const child = startCli(['--state', root, 'serve', '--port', '0'], { [hostileName]: '1' });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes('serving on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('close', resolve));
  assert.match(stderr, /palyrad: warning: PALYRA_X\\u001b\]0;pwned\\u0007\\u009b2J is not a palyrad variable/);
  assert.equal(RAW_CONTROL.test(stderr), false, JSON.stringify(stderr));
});
