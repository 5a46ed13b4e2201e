export {
  PalyraError,
  usageError,
  invalidArgument,
  ioError,
  categoryOf,
  exitCodeOf,
  httpStatusOf,
  errorBody,
  clientErrorBody,
  reportInternal,
} from './errors.ts';
export type { ErrorCode, ErrorCategory, InternalErrorReport } from './errors.ts';
export { canonicalJson } from './canonical-json.ts';
export type { JsonValue } from './canonical-json.ts';
export { sha256Hex, sha256Stream, isSha256Hex, GENESIS_HASH } from './hash.ts';
export type { Sha256Stream } from './hash.ts';
export { newUlid, isUlid } from './ids.ts';
export { systemClock } from './clock.ts';
export type { Clock } from './clock.ts';
export { createFileExclusive, fsyncDir, fsyncFile, mkdirDurable, writeFileAtomic } from './atomic-write.ts';
export { workspacePathForm } from './workspace-path-form.ts';
export { hostForm } from './host-form.ts';
export { escapeTerminalControls } from './terminal-text.ts';
