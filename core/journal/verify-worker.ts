// Worker entry of the parallel verifier: verifies the segments it is sent, one at a time.
// Bundled into a string by build.mjs (a single executable can only start eval'd workers).
import { parentPort } from 'node:worker_threads';
import { verifySegment, type SegmentTask } from './verify-segment.ts';

const port = parentPort;
if (!port) throw new Error('verify-worker must run in a worker thread');
port.on('message', (task: SegmentTask) => {
  try {
    const report = verifySegment(task, (bytes) => port.postMessage({ type: 'progress', name: task.segment.name, bytes }));
    port.postMessage({ type: 'done', report });
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).message });
  }
});
