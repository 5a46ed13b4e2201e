// The memory floor of palyrad's fixed engines, for bench:gateway: a node process that loads
// only what the daemon cannot run without — sql.js (an index database with a few rows),
// Cedar (one authorization), and one idle worker thread (the journal's writer) — the way
// the daemon loads them (same wasm files, Cedar's `web` build with initSync), then waits.
// It prints "ready" when everything is loaded; the bench reads its RSS from /proc.
// Run it with the daemon's V8 settings (bench-gateway.ts passes the wasm tiering budget).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const modules = join(root, 'node_modules');
const require = createRequire(join(root, 'package.json'));

const initSqlJs = require('sql.js');
const SQL = await initSqlJs({ wasmBinary: readFileSync(join(modules, 'sql.js/dist/sql-wasm.wasm')) });
const db = new SQL.Database();
db.run('CREATE TABLE events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL)');
for (let seq = 1; seq <= 100; seq++) db.run('INSERT INTO events VALUES (?, ?, ?)', [seq, 'bench.floor', '{}']);

const cedarDir = join(modules, '@cedar-policy/cedar-wasm/web');
const cedar = await import(pathToFileURL(join(cedarDir, 'cedar_wasm.js')).href);
cedar.initSync({ module: readFileSync(join(cedarDir, 'cedar_wasm_bg.wasm')) });
const answer = cedar.isAuthorized({
  principal: { type: 'User', id: 'operator' },
  action: { type: 'Action', id: 'call' },
  resource: { type: 'Tool', id: 'echo' },
  context: {},
  policies: { staticPolicies: 'permit(principal, action, resource);' },
  entities: [],
});
if (answer.type !== 'success') throw new Error(`Cedar failed: ${JSON.stringify(answer)}`);

const writer = new Worker("require('node:worker_threads').parentPort.on('message', () => {})", { eval: true });
// Keep every engine reachable so nothing is collected while the bench measures.
globalThis.floor = { db, cedar, writer };
process.stdout.write('ready\n');
setInterval(() => {}, 1e9);
