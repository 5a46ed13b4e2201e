import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { openJournalMemoryStore } from './journal-memory-store.ts';
import { learn } from './learning.ts';

test('a fact held word for word is not stored again, even when a longer note with the same words ranks first', async () => {
  const { store: journal } = await freshJournal();
  const store = openJournalMemoryStore(journal);
  try {
    await learn(store, [{ text: 'Deploys happen on Tuesdays', tags: [] }], 'ses_1');
    await learn(store, [{ text: 'Deploys happen on Tuesdays and Fridays', tags: [] }], 'ses_1');
    const stored = await learn(store, [{ text: 'Deploys happen on Tuesdays', tags: [] }], 'ses_1');
    assert.deepEqual(stored, []);
    const texts = (await store.search('deploys happen on tuesdays', { limit: 10 })).map((h) => h.text).sort();
    assert.deepEqual(texts, ['Deploys happen on Tuesdays', 'Deploys happen on Tuesdays and Fridays']);
  } finally {
    await journal.close();
  }
});
