import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** What reading a file that someone else controls found. */
export type RegularFileRead = { type: 'file'; bytes: Buffer } | { type: 'missing' } | { type: 'not-file' } | { type: 'too-large'; size: number };

/**
 * Reads a whole file only if it is a regular file (a link to one counts) of at most
 * `maxBytes`. Security: a state directory under audit may hold a FIFO where a file should
 * be (opening it for reading would wait forever for a writer), a device (`/dev/zero`
 * never ends) or a file far larger than any honest one. It is opened non-blocking and
 * checked with fstat on the open descriptor, so it cannot be swapped in between.
 * Other errors (permissions, I/O) are thrown as they are.
 */
export function readRegularFile(path: string, maxBytes: number): RegularFileRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { type: 'missing' };
    // A dangling link is missing its target; on some systems a directory cannot be opened at all.
    if (code === 'EISDIR' || code === 'ENXIO' || code === 'ELOOP') return { type: 'not-file' };
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { type: 'not-file' };
    if (stat.size > maxBytes) return { type: 'too-large', size: stat.size };
    // The size can change while it is read (a writer appending): read what was there, up to the cap.
    const bytes = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < bytes.length) {
      const n = readSync(fd, bytes, filled, bytes.length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return { type: 'file', bytes: bytes.subarray(0, filled) };
  } finally {
    closeSync(fd);
  }
}
