import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSqlJs } from './sqljs.ts';

test('loadSqlJs returns one cached instance', async () => {
  const [a, b] = await Promise.all([loadSqlJs(), loadSqlJs()]);
  assert.equal(a, b);
  assert.equal(await loadSqlJs(), a);
});

test('sql.js creates, inserts, selects and exports a SQLite file', async () => {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  try {
    db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    db.run('INSERT INTO t (name) VALUES (?), (?)', ['alpha', 'beta']);
    assert.deepEqual(db.exec('SELECT id, name FROM t ORDER BY id'), [
      { columns: ['id', 'name'], values: [[1, 'alpha'], [2, 'beta']] },
    ]);
    const bytes = db.export();
    assert.equal(Buffer.from(bytes.subarray(0, 16)).toString('latin1'), 'SQLite format 3\0');
  } finally {
    db.close();
  }
});
