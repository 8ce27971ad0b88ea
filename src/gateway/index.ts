export type * from './gater-api.ts';
export { Gateway, CALL_TIMEOUT_MS, DEFAULT_READ_COUNT, type CallRecorder, type GatewayComponents, type GatewayInit } from './gateway.ts';
export { RegistryDirectory, type WorkerDirectory, type RemoteEndpointFactory } from './worker-directory.ts';
export { LocalWorkerEndpoint, type WorkerEndpoint, type EndpointCallContext } from './worker-endpoint.ts';
