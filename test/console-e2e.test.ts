// The web console end to end: a real daemon (scripted provider), the console page in
// headless Chromium driven by playwright-core. Needs Debian's `chromium` (.ci/run installs
// it and sets PALYRA_REQUIRE_BROWSER=1, which turns a missing browser into a failure).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../core/daemon/config.ts';
import { startDaemon, type RunningDaemon } from '../core/daemon/daemon.ts';
import { tempDir } from './helpers/temp-dir.ts';

// Functions given to page.waitForFunction run in the browser; this file is type-checked
// without the DOM library (so core code cannot use it by accident), hence this sketch.
interface PageElement {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): { length: number };
};

/** "write …" writes a file (fs.write asks a human), anything else is answered in slow chunks. */
const SCRIPT = {
  version: 1,
  turns: [
    { when: { lastMessageRole: 'tool' }, text: 'The file is written: {{lastToolResult}}' },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'write ' }, text: 'Writing it now.', toolCalls: [{ name: 'fs.write', arguments: { path: 'out.txt', content: '{{lastUserRest}}', mode: 'create' } }] },
    { when: {}, text: 'Here is a plain answer, streamed in small pieces.', chunkSize: 6, delayMs: 60 },
  ],
};

/** The browser PALYRA_CHROMIUM names when set, else Debian's chromium; null when missing. */
function findChromium(): string | null {
  const named = process.env.PALYRA_CHROMIUM;
  const candidates = named ? [named] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p) => existsSync(p)) ?? null;
}

async function startConsoleDaemon(): Promise<RunningDaemon> {
  const stateDir = join(tempDir(), 'state');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'STATE'), '{"format":"palyra-state","version":1}\n');
  const script = join(stateDir, 'script.json');
  writeFileSync(script, JSON.stringify(SCRIPT));
  writeFileSync(join(stateDir, 'config.toml'), `[[providers]]\ntype = "scripted"\nid = "e2e"\nscript = ${JSON.stringify(script)}\n`);
  const { config } = loadConfig({ stateDir, env: {}, flags: { 'server.port': 0 } });
  return startDaemon({ stateDir, config, env: {}, version: 'e2e' });
}

/** The assistant bubble of the newest run in the chat. */
const lastAnswer = '#chat-log li.assistant:last-of-type';

async function sendMessage(page: Page, text: string): Promise<void> {
  await page.fill('#chat-input', text);
  const before = await page.locator('#chat-log li.assistant').count();
  await page.click('#chat-send');
  await page.locator('#chat-log li.assistant').nth(before).waitFor();
}

test('the web console: log in, chat with streamed answers, approve a tool call, see runs, journal and policies', { timeout: 60_000 }, async (t) => {
  const executablePath = findChromium();
  if (!executablePath) {
    const reason = 'Chromium is not installed (apt-get install chromium, or set PALYRA_CHROMIUM)';
    if (process.env.PALYRA_REQUIRE_BROWSER === '1') assert.fail(`${reason}, but PALYRA_REQUIRE_BROWSER=1 requires the browser test`);
    t.skip(reason);
    return;
  }
  const { chromium } = await import('playwright-core');
  const daemon = await startConsoleDaemon();
  let browser: Browser | undefined;
  try {
    // Chromium's sandbox cannot start as root (CI containers); it is not what is tested here.
    browser = await chromium.launch({ executablePath, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/401 \(Unauthorized\)/.test(message.text())) problems.push(`console: ${message.text()} (${message.location().url})`);
    });

    await page.goto(`${daemon.url}/`);
    await page.locator('#login-form').waitFor();
    await page.fill('#login-token', 'wrong-token');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('That is not the admin token'));
    await page.fill('#login-token', readFileSync(daemon.adminTokenPath, 'utf8').trim());
    await page.click('#login-form button[type=submit]');
    await page.locator('#app').waitFor();
    const cookies = await page.context().cookies();
    assert.deepEqual(
      cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path]),
      [['palyra_console', true, 'Strict', '/']],
    );
    // The cookie alone opens nothing (other services on this host receive it); the page
    // sends the token it keeps, and a reload keeps the session.
    const cookieOnly = await fetch(`${daemon.url}/api/v1/sessions`, { headers: { cookie: `palyra_console=${cookies[0]?.value}` } });
    assert.equal(cookieOnly.status, 403);
    await page.reload();
    await page.locator('#app').waitFor();

    await page.fill('#session-key', 'e2e');
    await page.click('#session-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('chat-title')?.textContent === 'Session e2e');

    // A plain message: its answer appears piece by piece before the run ends.
    await sendMessage(page, 'hello there');
    const partial = await page.waitForFunction(
      (sel) => {
        const bubble = document.querySelector(sel);
        const text = bubble?.querySelector('.text')?.textContent ?? '';
        return bubble && bubble.dataset.final !== 'true' && text.length > 0 ? text : null;
      },
      lastAnswer,
      { polling: 10 },
    );
    const seen = (await partial.jsonValue()) as string;
    assert.ok('Here is a plain answer, streamed in small pieces.'.startsWith(seen) && seen.length < 49, `a partial answer was shown: "${seen}"`);
    await page.locator(`${lastAnswer}[data-final="true"]`).waitFor();
    const plain = page.locator(lastAnswer);
    assert.equal(await plain.locator('.text').textContent(), 'Here is a plain answer, streamed in small pieces.');
    assert.equal(await plain.getAttribute('data-state'), 'completed');
    assert.ok(Number(await plain.getAttribute('data-deltas')) >= 8, 'streamed as text_delta events');

    // A tool call that needs a human: it shows up in the queue, is approved, the run completes.
    await sendMessage(page, 'write hello');
    const card = page.locator('#approval-list li[data-approval]');
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', /fs\.write/);
    await page.locator(`${lastAnswer}[data-state="waiting"]`).waitFor();
    assert.equal(await page.locator(`${lastAnswer} .text`).textContent(), 'Writing it now.', 'the first turn\'s text streamed before the approval');
    await card.locator('button[data-scope="once"]').click();
    await page.locator(`${lastAnswer}[data-final="true"]`).waitFor();
    assert.equal(await page.locator(lastAnswer).getAttribute('data-state'), 'completed');
    assert.match((await page.locator(`${lastAnswer} .text`).textContent()) ?? '', /^The file is written: \{"bytes":5,"created":true/);
    assert.equal(readFileSync(join(daemon.paths.root, 'workspace', 'out.txt'), 'utf8'), 'hello');
    await page.waitForFunction(() => document.querySelectorAll('#approval-list li').length === 0);
    assert.equal(await page.textContent('#approvals-count'), '0');

    // Runs, and the approved run's tape as a timeline.
    await page.click('#tabs button[data-view="runs"]');
    await page.waitForFunction(() => document.querySelectorAll('#run-list tr').length === 2);
    const runIds = await page.locator('#run-list tr').evaluateAll((rows) => rows.map((r) => (r as unknown as PageElement).dataset.run));
    const writeRun = (await page.locator(`${lastAnswer}`).getAttribute('data-run')) as string;
    assert.ok(runIds.includes(writeRun));
    await page.click(`#run-list tr[data-run="${writeRun}"]`);
    await page.locator('#tape li[data-kind="run.finished"]').waitFor();
    assert.match((await page.textContent('#tape li[data-kind="approval.resolved"]')) ?? '', /fs\.write: approved by operator \(once\)/);
    assert.match((await page.textContent('#tape li[data-kind="tool.decision"]')) ?? '', /fs\.write: ask/);

    // Journal status, verification (or its placeholder), and the policies in force.
    await page.click('#tabs button[data-view="journal"]');
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('#journal-status dd')?.textContent ?? ''));
    await page.click('#verify');
    await page.waitForFunction(() => !/checking|not checked/.test(document.querySelector('#verify-result dd')?.textContent ?? 'checking'));
    assert.match((await page.textContent('#verify-result dd')) ?? '', /^(ok: every frame|not available from this daemon yet)/);
    await page.click('#tabs button[data-view="policies"]');
    await page.locator('#policy-list li').first().waitFor();
    assert.match((await page.textContent('#policy-hash')) ?? '', /^[0-9a-f]{64}$/);

    // Logging out ends the session for the API too.
    await page.click('#logout');
    await page.locator('#login-form').waitFor();
    const after = await page.evaluate(async () => (await fetch('/api/v1/sessions')).status);
    assert.equal(after, 401);
    assert.deepEqual(problems, []);
  } finally {
    await browser?.close();
    await daemon.stop('test over');
  }
});
