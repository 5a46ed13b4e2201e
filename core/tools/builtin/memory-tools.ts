/**
 * `memory.put`, `memory.search`, `memory.delete`: the agent's notes, over a MemoryStore
 * that the gateway backs with the journal. `memory.remember` only marks a fact: the
 * gateway stores the marks of a run after it completes (post-run learning).
 */
import type { JsonValue } from '../../base/index.ts';
import type { MemoryStore } from '../memory/memory-store.ts';
import { DEFAULT_LIMITS, type ToolDefinition } from '../tool.ts';
import { JsonListBudget } from './json-list-budget.ts';

/** Options shared by the memory tools. */
export interface MemoryToolOptions {
  /** Longest note, in characters (default 8192). */
  maxTextLength?: number;
  /** Most hits one search returns; also the default `limit` cap (default 50). */
  maxResults?: number;
}

/** Input of `memory.put`. */
export interface MemoryPutInput {
  text: string;
  tags?: string[];
}

/** Input of `memory.search`. */
export interface MemorySearchInput {
  query: string;
  limit?: number;
}

/** Input of `memory.delete`. */
export interface MemoryDeleteInput {
  id: string;
}

const DEFAULT_SEARCH_LIMIT = 10;

/** The input of a note (memory.put, memory.remember): text and up to 16 tags. */
function noteSchema(maxTextLength: number): ToolDefinition['inputSchema'] {
  return {
    type: 'object',
    properties: {
      text: { type: 'string', minLength: 1, maxLength: maxTextLength },
      tags: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 64 } },
    },
    required: ['text'],
    additionalProperties: false,
  };
}

/** Creates `memory.put`. */
export function createMemoryPutTool(store: MemoryStore, options: MemoryToolOptions = {}): ToolDefinition<MemoryPutInput> {
  const maxTextLength = options.maxTextLength ?? 8192;
  return {
    name: 'memory.put',
    description: 'Remember a note for later runs, with optional tags. Returns its id.',
    inputSchema: noteSchema(maxTextLength),
    capabilities: ['memory'],
    // Writing memory changes what later runs believe: not a read-only tool.
    risk: 'medium',
    // Writes: kept in call order relative to searches and deletes of the same turn.
    parallelSafe: false,
    limits: { ...DEFAULT_LIMITS },
    async run(input, context) {
      const record = await store.put({ text: input.text, tags: input.tags ?? [], sessionId: context.sessionId });
      return { id: record.id, tags: record.tags };
    },
  };
}

/** The name of the marking tool; the gateway looks for its calls after a run. */
export const MEMORY_REMEMBER_TOOL = 'memory.remember';

/**
 * Creates `memory.remember`: marks a fact to keep. Nothing is stored during the run; once
 * the run completes, the gateway stores every mark whose call succeeded, so a run that
 * fails or is cancelled teaches nothing.
 */
export function createMemoryRememberTool(options: MemoryToolOptions = {}): ToolDefinition<MemoryPutInput> {
  const maxTextLength = options.maxTextLength ?? 8192;
  return {
    name: MEMORY_REMEMBER_TOOL,
    description: 'Mark a fact to remember for later runs, with optional tags. It is stored when this run completes (not if it fails or is cancelled).',
    inputSchema: noteSchema(maxTextLength),
    capabilities: ['memory'],
    // The same effect as memory.put, only later: it changes what later runs believe.
    risk: 'medium',
    parallelSafe: true,
    limits: { ...DEFAULT_LIMITS },
    run() {
      return Promise.resolve({ marked: true });
    },
  };
}

/** Creates `memory.search`. */
export function createMemorySearchTool(store: MemoryStore, options: MemoryToolOptions = {}): ToolDefinition<MemorySearchInput> {
  const maxResults = options.maxResults ?? 50;
  const limits = { ...DEFAULT_LIMITS };
  return {
    name: 'memory.search',
    description:
      `Find remembered notes sharing words with the query, best first (limit ≤ ${maxResults}, default ${Math.min(DEFAULT_SEARCH_LIMIT, maxResults)}); ` +
      '"truncated" says when hits were left out to keep the output under its size cap.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', minLength: 1, maxLength: 1024 },
        limit: { type: 'integer', minimum: 1, maximum: maxResults },
      },
      required: ['query'],
      additionalProperties: false,
    },
    capabilities: ['memory'],
    risk: 'low',
    parallelSafe: true,
    limits,
    async run(input) {
      const found = await store.search(input.query, { limit: input.limit ?? Math.min(DEFAULT_SEARCH_LIMIT, maxResults) });
      // Stop before the registry's output cap would refuse the whole result.
      const budget = new JsonListBudget(limits.maxOutputBytes, { hits: [], truncated: true });
      const hits: JsonValue[] = [];
      for (const hit of found) {
        if (!budget.admit(hit)) break;
        hits.push(hit as unknown as JsonValue);
      }
      return { hits, truncated: hits.length < found.length };
    },
  };
}

/** Creates `memory.delete`. */
export function createMemoryDeleteTool(store: MemoryStore): ToolDefinition<MemoryDeleteInput> {
  return {
    name: 'memory.delete',
    description: 'Forget a remembered note by id. Returns whether one was removed.',
    inputSchema: {
      type: 'object',
      properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
      required: ['id'],
      additionalProperties: false,
    },
    capabilities: ['memory'],
    // Destroys what the operator may have wanted kept; policy may ask first.
    risk: 'medium',
    parallelSafe: false,
    limits: { ...DEFAULT_LIMITS },
    async run(input) {
      return { id: input.id, deleted: await store.delete(input.id) };
    },
  };
}

/** The memory tools over one store. */
export function createMemoryTools(
  store: MemoryStore,
  options: MemoryToolOptions = {},
): [ToolDefinition<MemoryPutInput>, ToolDefinition<MemorySearchInput>, ToolDefinition<MemoryDeleteInput>, ToolDefinition<MemoryPutInput>] {
  return [createMemoryPutTool(store, options), createMemorySearchTool(store, options), createMemoryDeleteTool(store), createMemoryRememberTool(options)];
}
