/** The `http.fetch` tool and its SSRF guard (address parsing and classification). */
export { createHttpFetchTool } from './http-fetch-tool.ts';
export type { HttpFetchOptions, HttpFetchOutput } from './http-fetch-tool.ts';
export { createTargetGuard } from './target-guard.ts';
export type { HostResolver, PinnedTarget, TargetGuard, TargetGuardOptions } from './target-guard.ts';
export { classifyAddress, classifyIp, BLOCKED_IPV4, BLOCKED_IPV6 } from './classify-address.ts';
export type { AddressClass, BlockedRange, Embedding } from './classify-address.ts';
export { parseIp, parseIpv4, parseIpv6, formatIp, parseCidr, cidrContains } from './ip-address.ts';
export type { IpAddress, Cidr } from './ip-address.ts';
export { parseAllowList } from './allow-list.ts';
export type { AllowList } from './allow-list.ts';
export { DEFAULT_CONTENT_TYPES } from './response-body.ts';
export { STRIPPED_REQUEST_HEADERS, RETURNED_RESPONSE_HEADERS } from './http-headers.ts';
export { MAX_REDIRECTS } from './redirects.ts';
