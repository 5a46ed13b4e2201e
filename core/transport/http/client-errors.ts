import type { Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, httpStatusOf, PalyraError } from '../../base/index.ts';

/**
 * Answers requests Node refuses before any handler runs (headers too large, too slow to
 * arrive, not HTTP at all) in the API's `{"error":{"code","message"}}` shape instead of
 * Node's bare status line, then closes the connection as Node would.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A connection reset or already answered: nothing can or need be said.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const refusal =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', 'The request headers are too large')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new PalyraError('PALYRA_REQUEST_TIMEOUT', 'The request did not arrive in time')
          : new PalyraError('PALYRA_INVALID_ARGUMENT', 'The request is not valid HTTP');
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : httpStatusOf(refusal);
    const body = JSON.stringify(errorBody(refusal));
    // Security: closed for good once the answer is out, as Node's own handler does. The
    // server's sockets allow half-open connections, and with the parser gone no timeout
    // applies: a peer that never closed its side kept the connection (and a slot of
    // server.maxConnections) forever.
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
