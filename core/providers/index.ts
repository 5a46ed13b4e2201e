// The public surface of core/providers: one contract, the wire adapters, the resilience
// wrappers and the scripted provider. Other folders import only this file.
export type {
  ChatMessage,
  FailedAttempt,
  FinishReason,
  ModelParameters,
  ModelProvider,
  ProviderErrorCode,
  ProviderEvent,
  ProviderFailure,
  ProviderRequest,
  ProviderRoute,
  ToolCall,
  ToolSpec,
} from './contract.ts';

export { createOpenAiProvider } from './openai/openai-provider.ts';
export type { OpenAiProviderOptions } from './openai/openai-provider.ts';
export { createAnthropicProvider, DEFAULT_ANTHROPIC_MODEL } from './anthropic/anthropic-provider.ts';
export type { AnthropicProviderOptions } from './anthropic/anthropic-provider.ts';
export type { HttpTimeouts } from './sse/http-call.ts';
export { DEFAULT_RESPONSE_LIMITS } from './sse/response-caps.ts';
export type { ResponseLimits } from './sse/response-caps.ts';
export { sseEvents } from './sse/sse-events.ts';
export type { SseEvent } from './sse/sse-events.ts';
export { collect } from './collect.ts';
export type { CollectedTurn, CollectOptions } from './collect.ts';
export { headerSecrets, isCredentialHeader } from './credential-headers.ts';
export { classifyHttpFailure, classifyErrorObject, classifyTransportError, parseRetryAfter } from './http-errors.ts';

export { realSleep } from './resilience/sleep.ts';
export type { Sleep } from './resilience/sleep.ts';
export { isHealthFailure, isRetryable } from './resilience/failures.ts';
export { withRetries, retryDelayMs } from './resilience/retries.ts';
export type { RetryOptions, RetryInfo } from './resilience/retries.ts';
export { withCircuitBreaker, CIRCUIT_OPEN_CODE } from './resilience/circuit-breaker.ts';
export type { CircuitBreakerOptions, CircuitBreakerProvider, CircuitState, CircuitStatus } from './resilience/circuit-breaker.ts';
export { withConcurrencyLimit, LEASE_QUEUE_FULL_CODE, LEASE_QUEUE_TIMEOUT_CODE } from './resilience/concurrency-limit.ts';
export type { ConcurrencyLimitOptions, ConcurrencyLimitedProvider, LeaseStatus } from './resilience/concurrency-limit.ts';
export { withFailover } from './resilience/failover.ts';
export type { FailoverCandidate, FailoverAttempt, FailoverOptions } from './resilience/failover.ts';
export { withResilience } from './resilience/with-resilience.ts';
export type { ResilienceOptions, ResilienceStatus, ResilientProvider } from './resilience/with-resilience.ts';

export { createScriptedProvider } from './scripted/scripted-provider.ts';
export type { ScriptedProvider, ScriptedProviderOptions } from './scripted/scripted-provider.ts';
export { loadScript, parseScript, SCRIPT_SCHEMA } from './scripted/script.ts';
export type { Script, ScriptTurn, TurnCondition, ScriptedToolCall, ScriptedError } from './scripted/script.ts';
export { DEFAULT_SCRIPT } from './scripted/default-script.ts';
