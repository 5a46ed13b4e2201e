import { isAbsolute } from 'node:path';
import { PalyraError, type Clock, type JsonValue } from '../base/index.ts';
import type { JournalStore, StoredRecord } from '../journal/index.ts';
import { DEFAULT_PRINCIPAL, formatPrincipal, parsePrincipal } from '../policy/index.ts';
import { checkedSessionBudgets, type SessionBudgets } from './session-budgets.ts';

/** A conversation: who it acts for, where its tools may work, and how clients find it. */
export interface Session {
  id: string;
  /** A client's own stable name for the conversation (unique among live sessions). */
  key: string | null;
  /** A human-readable name. */
  label: string | null;
  /** The agent the session belongs to, e.g. `Agent::"main"`; its runs act as `Session::"<id>"` of that agent. */
  principal: string;
  channel: string;
  /** True when the sender is the daemon's owner (policies may trust owners more). */
  owner: boolean;
  /** Workspace folder its tools are confined to ('' for the daemon's default). */
  workspace: string;
  /** Limits its runs may not pass; they only tighten the daemon's budgets. */
  budgets: SessionBudgets;
  createdAt: number;
  archivedAt: number | null;
}

/** What a client may set when creating a session. */
export interface SessionInput {
  key?: string;
  label?: string;
  principal?: string;
  channel?: string;
  owner?: boolean;
  workspace?: string;
  budgets?: unknown;
}

export const SESSION_CREATED = 'session.created';
export const SESSION_ARCHIVED = 'session.archived';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

/** A `session.created` payload as replay needs it; throws for any other shape (an event written by something else). */
function replayedSession(value: unknown): Session {
  const s = value as Partial<Session> | null;
  const nullableString = (v: unknown): boolean => v === null || v === undefined || typeof v === 'string';
  if (
    s === null || typeof s !== 'object' || Array.isArray(s) || typeof s.id !== 'string' || s.id === '' || typeof s.principal !== 'string' ||
    typeof s.channel !== 'string' || typeof s.owner !== 'boolean' || typeof s.workspace !== 'string' || typeof s.createdAt !== 'number' ||
    !nullableString(s.key) || !nullableString(s.label) || (s.budgets !== undefined && (typeof s.budgets !== 'object' || s.budgets === null))
  ) {
    throw new Error('a session.created event does not hold a session');
  }
  return { ...s, key: s.key ?? null, label: s.label ?? null } as Session;
}

/**
 * Sessions, durable in the journal (`session.created`, `session.archived`) and rebuilt
 * from it on start. A create with the key of a live session returns that session, so a
 * client can retry a create safely.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #byKey = new Map<string, Session>();

  constructor(
    private readonly journal: JournalStore,
    private readonly clock: Clock,
    private readonly newId: () => string,
    /** Refuses a session workspace the daemon must not hand to tools (see assertWorkspaceApart). */
    private readonly checkWorkspace: (workspace: string) => void = () => undefined,
  ) {}

  /** Applies one journal record (replay on start); ignores other kinds. */
  replay(record: StoredRecord): void {
    if (record.kind === SESSION_CREATED) {
      const s = replayedSession(JSON.parse(record.payloadJson));
      this.#add({ ...s, budgets: s.budgets ?? {}, archivedAt: null });
    } else if (record.kind === SESSION_ARCHIVED && record.sessionId) {
      const s = this.#sessions.get(record.sessionId);
      if (s) this.#archive(s, record.ts);
    }
  }

  /** Creates a session (durable before it returns), or returns the live one with the same key. */
  async create(input: SessionInput): Promise<{ session: Session; created: boolean }> {
    const key = optionalName('key', input.key);
    if (key !== null) {
      const existing = this.#byKey.get(key);
      if (existing) return { session: existing, created: false };
    }
    const id = `ses_${this.newId()}`;
    const principal = input.principal === undefined ? formatPrincipal(DEFAULT_PRINCIPAL) : checkedPrincipal(input.principal, id);
    if (input.owner !== undefined && typeof input.owner !== 'boolean') throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'owner must be true or false');
    if (input.workspace !== undefined && typeof input.workspace !== 'string') throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'workspace must be a path');
    // The file tools are confined to it: a relative path would resolve against wherever the
    // daemon happened to start, and `..` makes the confinement hard to read in a listing.
    if (typeof input.workspace === 'string' && input.workspace !== '') {
      const w = input.workspace;
      if (w.length > 4096 || w.includes('\0') || !isAbsolute(w) || w.split(/[\\/]/).includes('..')) {
        throw new PalyraError('PALYRA_INVALID_ARGUMENT', `workspace must be an absolute path without ".." (got ${JSON.stringify(w.slice(0, 200))})`);
      }
      this.checkWorkspace(w);
    }
    const session: Session = {
      id,
      key,
      label: optionalLabel(input.label),
      principal,
      channel: optionalName('channel', input.channel) ?? 'api',
      owner: typeof input.owner === 'boolean' ? input.owner : false,
      workspace: typeof input.workspace === 'string' ? input.workspace : '',
      budgets: checkedSessionBudgets(input.budgets),
      createdAt: this.clock.now(),
      archivedAt: null,
    };
    await this.journal.append({ kind: SESSION_CREATED, sessionId: id, actor: 'gateway', payload: session as unknown as JsonValue });
    if (key !== null && this.#byKey.has(key)) return { session: this.#byKey.get(key) as Session, created: false }; // lost a race
    this.#add(session);
    return { session, created: true };
  }

  /** The session with this id, key or label (in that order). */
  resolve(ref: string): Session {
    const found = this.#sessions.get(ref) ?? this.#byKey.get(ref) ?? [...this.#sessions.values()].find((s) => s.label === ref && s.archivedAt === null);
    if (!found) throw new PalyraError('PALYRA_NOT_FOUND', `No session "${ref}" (looked for an id, key or label)`);
    return found;
  }

  /** A live (not archived) session, for sending to. */
  live(ref: string): Session {
    const s = this.resolve(ref);
    if (s.archivedAt !== null) throw new PalyraError('PALYRA_CONFLICT', `Session "${s.id}" is archived`);
    return s;
  }

  list(options: { includeArchived?: boolean } = {}): Session[] {
    return [...this.#sessions.values()].filter((s) => options.includeArchived || s.archivedAt === null);
  }

  /** Archives a session (durable); archiving an archived one changes nothing. */
  async archive(ref: string): Promise<Session> {
    const s = this.resolve(ref);
    if (s.archivedAt !== null) return s;
    const { ts } = await this.journal.append({ kind: SESSION_ARCHIVED, sessionId: s.id, actor: 'gateway', payload: { sessionId: s.id } });
    this.#archive(s, ts);
    return s;
  }

  #add(session: Session): void {
    this.#sessions.set(session.id, session);
    if (session.key !== null) this.#byKey.set(session.key, session);
  }

  #archive(s: Session, at: number): void {
    s.archivedAt = at;
    if (s.key !== null && this.#byKey.get(s.key) === s) this.#byKey.delete(s.key);
  }
}

function optionalName(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Session ${field} must be 1–128 letters, digits or . _ : @ / -, not ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalLabel(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'Session label must be a string of 1–200 characters');
  return value;
}

function checkedPrincipal(text: unknown, sessionId: string): string {
  if (typeof text !== 'string') throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'Session principal must be an agent such as Agent::"main"');
  parsePrincipal(text, sessionId); // refuses anything but an agent
  return formatPrincipal(parsePrincipal(text));
}
