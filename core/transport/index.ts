// The public surface of core/transport: the HTTP API, the OpenAI-compatible surface and the WebSocket endpoint (remote workers come next).
export { createApi } from './http/api.ts';
export type { ApiDeps } from './http/api.ts';
export { renderPrometheus } from './http/metrics.ts';
export type { Sample } from './http/metrics.ts';
export { Router, readJson, sendJson, sendError, bearerToken, DEFAULT_BODY_LIMIT } from './http/http-kit.ts';
export type { RouteContext, RouteHandler } from './http/http-kit.ts';
export { registerOpenAiRoutes, OPENAI_CHANNEL } from './openai/openai-routes.ts';
export type { OpenAiRoutesDeps } from './openai/openai-routes.ts';
export { parseChatRequest } from './openai/chat-request.ts';
export type { ChatRequest } from './openai/chat-request.ts';
export { attachWebSocket } from './ws/ws-server.ts';
export type { WebSocketOptions, WebSocketEndpoint } from './ws/ws-server.ts';
export { parseClientMessage, WS_PATH, WS_SUBPROTOCOL, WS_TOKEN_SUBPROTOCOL_PREFIX, WS_CLOSE, WS_PROTOCOL_VERSION } from './ws/ws-protocol.ts';
export type { ClientMessage, ServerFrame, NumberedFrame, Cursor, ClientId } from './ws/ws-protocol.ts';
export { registerAdminRoutes } from './http/admin-routes.ts';
export type { AdminRoutesDeps } from './http/admin-routes.ts';
