// Remote workers: the protocol, the daemon's hub and the worker's client.
export { attachWorkerHub, createWorkerHub } from './worker-hub.ts';
export type { ConnectedWorker, WorkerHub, WorkerHubEvent, WorkerHubOptions } from './worker-hub.ts';
export { WorkerClient } from './worker-client.ts';
export type { WorkerClientOptions, WorkerTimers } from './worker-client.ts';
export { backoffDelay, DEFAULT_BACKOFF } from './worker-backoff.ts';
export type { BackoffOptions } from './worker-backoff.ts';
export { helloFor, workerUrl } from './worker-hello.ts';
export { DEFAULT_WORKER_TOOLS, WORKER_OFFERABLE_TOOLS, workerToolRegistry } from './worker-tools.ts';
export { parseHubFrame, parseWorkerFrame } from './worker-frame-parse.ts';
export { encodeFrame, namespacedToolName, WORKER_CLOSE, WORKER_LIMITS, WORKER_PATH, WORKER_PROTOCOL_VERSION } from './worker-protocol.ts';
export type { HubFrame, WorkerFrame, WorkerToolSpec, WorkerToolLimits } from './worker-protocol.ts';
