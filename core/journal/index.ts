export { JournalStore, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_INDEX_RETENTION, MAX_PAYLOAD_BYTES_LIMIT, MIN_PAYLOAD_BYTES_LIMIT } from './journal-store.ts';
export type { AppendInput, AppendResult, JournalStoreOptions } from './journal-store.ts';
export { JournalIndex, INDEX_SCHEMA_VERSION } from './index-db.ts';
export type { IndexEntry, IndexHit } from './index-db.ts';
export { readFrameAt } from './frame-reader.ts';
export type { FramePointer } from './frame-reader.ts';
export { syncIndex } from './index-sync.ts';
export { journalPaths } from './journal-paths.ts';
export { newestCheckpoint, readOrigin } from './recover.ts';
export type { JournalPaths } from './journal-paths.ts';
export { readRecords, decodeRecord, newestRecords } from './log-reader.ts';
export type { LocatedRecord } from './log-reader.ts';
export { listSegments, scanSegment } from './segments.ts';
export { verifyJournal } from './verify.ts';
export type { VerifyReport, VerifyOptions, Problem, ProblemCode } from './verify.ts';
export {
  loadOrCreateSigningKey,
  loadTrustedKey,
  readCheckpoints,
  keyIdOf,
} from './checkpoints.ts';
export type { CheckpointRecord, SigningKey, TrustedKey } from './checkpoints.ts';
export {
  JOURNAL_FORMAT_VERSION,
  GENESIS_KIND,
  RECOVERY_KIND,
  toJournalEvent,
  computeRecordHash,
  hashInput,
  assertKind,
  assertName,
} from './record.ts';
export type { JournalEvent, StoredRecord } from './record.ts';
export { Redactor, redactionMarker, isSensitiveKey } from './redact.ts';
export { secretsFromEnvironment } from './known-secrets.ts';
export type { RedactionResult, RedactionKind } from './redact.ts';
