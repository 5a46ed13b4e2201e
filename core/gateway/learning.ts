/**
 * Post-run learning: the facts a run marked with `memory.remember` (calls that succeeded),
 * stored once the run has completed. A failed or cancelled run teaches nothing.
 */
import type { ChatMessage } from '../providers/index.ts';
import { MEMORY_REMEMBER_TOOL, type MemoryStore } from '../tools/index.ts';

/** One fact to keep. */
export interface MemoryMark {
  text: string;
  tags: string[];
}

/** The marks of a run's conversation: each `memory.remember` call whose result was not an error, in order. */
export function marksOf(messages: readonly ChatMessage[]): MemoryMark[] {
  const failed = new Set<string>();
  for (const m of messages) if (m.role === 'tool' && m.isError === true) failed.add(m.toolCallId);
  const answered = new Set<string>();
  for (const m of messages) if (m.role === 'tool') answered.add(m.toolCallId);
  const marks: MemoryMark[] = [];
  for (const m of messages) {
    if (m.role !== 'assistant' || !m.toolCalls) continue;
    for (const call of m.toolCalls) {
      if (call.name !== MEMORY_REMEMBER_TOOL || failed.has(call.id) || !answered.has(call.id)) continue;
      const args = call.arguments as { text?: unknown; tags?: unknown };
      if (typeof args?.text !== 'string') continue;
      const tags = Array.isArray(args.tags) ? args.tags.filter((t): t is string => typeof t === 'string') : [];
      marks.push({ text: args.text, tags });
    }
  }
  return marks;
}

/**
 * Stores the marks in order, skipping a fact the store already holds word for word (a
 * run that re-learns what it was told changes nothing). Returns the ids stored.
 */
/** How many of the best matches are checked for the same text before a fact is stored. */
const DUPLICATE_SEARCH_LIMIT = 1000;

export async function learn(store: MemoryStore, marks: readonly MemoryMark[], sessionId: string): Promise<string[]> {
  const ids: string[] = [];
  const seen = new Set<string>();
  for (const mark of marks) {
    if (seen.has(mark.text)) continue;
    seen.add(mark.text);
    // Not just the best hit: a longer note holding the same words can outrank the exact one.
    const hits = await store.search(mark.text, { limit: DUPLICATE_SEARCH_LIMIT });
    if (hits.some((hit) => hit.text === mark.text)) continue;
    ids.push((await store.put({ text: mark.text, tags: mark.tags, sessionId })).id);
  }
  return ids;
}
