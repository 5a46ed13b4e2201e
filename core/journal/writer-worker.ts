// Worker entry of the journal's writer thread: chains, frames and writes the events the
// store sends, and reports each durable batch. Bundled into a string by build.mjs (a
// single executable can only start eval'd workers).
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ChainWriter } from './chain-writer.ts';
import type { WriterReply, WriterRequest, WriterStart } from './writer-protocol.ts';

const port = parentPort;
if (!port) throw new Error('writer-worker must run in a worker thread');
const reply = (message: WriterReply): void => port.postMessage(message);
let writer: ChainWriter;
try {
  writer = ChainWriter.start(workerData as WriterStart, reply);
  reply({ type: 'ready' });
} catch (error) {
  // The store terminates this thread when it hears of the failure.
  reply({ type: 'failed', code: (error as { code?: string }).code ?? 'PALYRA_JOURNAL_WRITE_FAILED', message: (error as Error).message, fatal: true });
}
/**
 * Takes the requests already waiting behind `first` as well, so that everything that
 * arrived during the last (blocking) write goes out in one write. Where the runtime
 * cannot take messages synchronously, they arrive as events one at a time.
 */
function withWaiting(first: WriterRequest): WriterRequest[] {
  const requests = [first];
  if (first.type !== 'append' || typeof receiveMessageOnPort !== 'function') return requests;
  try {
    for (let next = receiveMessageOnPort(port as never); next; next = receiveMessageOnPort(port as never)) {
      requests.push(next.message as WriterRequest);
    }
  } catch {
    // Not supported for this port here; the requests arrive as events instead.
  }
  return requests;
}

port.on('message', (first: WriterRequest) => {
  let flush = false;
  for (const request of withWaiting(first)) flush = handle(request) || flush;
  if (flush) writer.flush();
});

/** Handles one request; true when what is queued should be written now. */
function handle(request: WriterRequest): boolean {
  if (request.type === 'append') {
    writer.append(request.epoch, request.records);
    return request.flush;
  }
  writer.flush();
  if (request.type === 'close') {
    // The store terminates this thread once it hears `closed` (closing the port from
    // inside is not portable: Deno's parentPort has no close()).
    void writer.close().then(() => reply({ type: 'closed' }));
  }
  return false;
}
