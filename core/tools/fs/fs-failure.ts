/**
 * Wording of file system failures for tool results: the path as the caller wrote it
 * (never the real path, which may tell more about the host than the caller knows),
 * the errno code and its human part.
 */
import { PalyraError } from '../../base/index.ts';

/**
 * Wraps an error from node:fs into PALYRA_TOOL_FAILED: `Cannot read "notes.txt": EACCES
 * (permission denied)`. PalyraErrors (a refusal from confinement) pass through unchanged.
 */
export function fsFailure(action: string, path: string, error: unknown): PalyraError {
  if (error instanceof PalyraError) return error;
  const err = error as NodeJS.ErrnoException;
  // Security: the target was checked to be no symlink; ELOOP under O_NOFOLLOW means one
  // was swapped in since, which is an attack, not a failure.
  if (err?.code === 'ELOOP') return new PalyraError('PALYRA_TOOL_FORBIDDEN', `Cannot ${action} "${path}": it became a symbolic link while being opened`);
  const human = typeof err?.message === 'string' ? (/^[A-Z]+: ([^,]+)/.exec(err.message)?.[1] ?? err.message) : String(error);
  const reason = err?.code ? `${err.code} (${human})` : human;
  return new PalyraError('PALYRA_TOOL_FAILED', `Cannot ${action} "${path}": ${reason}`, { cause: error });
}

/** PALYRA_TOOL_FAILED for a condition found without an errno, e.g. `is a directory`. */
export function fsRefusal(action: string, path: string, reason: string, code: 'PALYRA_TOOL_FAILED' | 'PALYRA_TOOL_FORBIDDEN' = 'PALYRA_TOOL_FAILED'): PalyraError {
  return new PalyraError(code, `Cannot ${action} "${path}": ${reason}`);
}
