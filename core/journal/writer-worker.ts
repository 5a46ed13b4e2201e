// Worker entry of the journal's writer thread: chains, frames and writes the events the
// store sends, and reports each durable batch. Bundled into a string by build.mjs (a
// single executable can only start eval'd workers).
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ChainWriter } from './chain-writer.ts';
import { unpackRecords, type WriterReply, type WriterRequest, type WriterStart } from './writer-protocol.ts';

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

/**
 * This thread polls for requests instead of sleeping while one is surely or probably on
 * its way: a sleeping thread is woken through the VM's scheduler, which measured here
 * cost a durable append 0.2–1 ms (an agent turn: ~550 µs against ~300 µs back to back).
 * - After a part that only queued events, it polls for the write request that ends the
 *   store's turn (at most QUEUED_POLL_MS); the store posts the first event of each turn
 *   at once, so this thread wakes while the store still works.
 * - After a write, it polls for AFTER_WRITE_POLL_MS, which catches the next step of a run
 *   (agent turn p50 ~1,100 → ~1,000 µs; a daemon message in process ~3 → ~2 ms) and
 *   costs an idle daemon that much CPU per write. Throughput under load did not drop
 *   (64 writers).
 * While polling finds nothing, it zeroes space ahead of the log a slice at a time (see
 * SegmentLog), so no write waits for a whole chunk of zeros.
 */
const AFTER_WRITE_POLL_MS = 1;
const QUEUED_POLL_MS = 5;
/** Longest stretch served by polling before the event loop gets a turn. */
const POLL_STRETCH_MS = 50;
const canPoll = typeof receiveMessageOnPort === 'function';

port.on('message', (first: WriterRequest) => {
  let outcome = serve(first);
  if (!canPoll) {
    if (outcome === 'wrote') writer.zeroAhead();
    return;
  }
  const stretchEnd = performance.now() + POLL_STRETCH_MS;
  let deadline = pollDeadline(outcome);
  for (let now = performance.now(); now < deadline && now < stretchEnd; now = performance.now()) {
    let next: { message: unknown } | undefined;
    try {
      next = receiveMessageOnPort(port as never);
    } catch {
      return;
    }
    if (!next) {
      writer.zeroAhead();
      continue;
    }
    outcome = serve(next.message as WriterRequest);
    deadline = pollDeadline(outcome);
  }
});

function pollDeadline(outcome: 'wrote' | 'queued' | 'closing'): number {
  if (outcome === 'closing') return 0; // the close runs on the event loop
  return performance.now() + (outcome === 'wrote' ? AFTER_WRITE_POLL_MS : QUEUED_POLL_MS);
}

/** Handles `first` and whatever waits behind it: whether it wrote, only queued, or the writer is closing (the event loop must then run). */
function serve(first: WriterRequest): 'wrote' | 'queued' | 'closing' {
  let flush = false;
  let closing = false;
  for (const request of withWaiting(first)) {
    flush = handle(request) || flush;
    if (request.type === 'close') closing = true;
  }
  if (flush) writer.flush();
  return closing ? 'closing' : flush ? 'wrote' : 'queued';
}

/** Handles one request; true when what is queued should be written now. */
function handle(request: WriterRequest): boolean {
  if (request.type === 'append') {
    writer.append(request.epoch, unpackRecords(request.records));
    return request.flush;
  }
  writer.flush();
  if (request.type === 'close') {
    // The store terminates this thread once it hears `closed` (closing the port from
    // inside is not portable: Deno's parentPort has no close()).
    void writer.close(request.abandon === true).then(() => reply({ type: 'closed' }));
  }
  return false;
}
