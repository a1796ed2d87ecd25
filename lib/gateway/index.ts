/**
 * linkgate/gateway: the filtering gateway as a library (the CLI is built on it). Imports neither
 * aws-cdk-lib nor cdktf.
 */
export * from './proxy-protocol';
export * from './tls/client-hello';
export { buildClientHello, type ClientHelloSpec } from './tls/build-client-hello';
export { Policy, DROP_REASONS, CLOSE_REASONS, type Decision, type DropReason, type CloseReason } from './policy';
export { Gateway, type GatewayOptions, type DecisionRecord, type CloseRecord, type ReloadOutcome } from './server';
export { GatewayMetrics } from './metrics';
export { Logger, type LogSink } from './log';
export { startSimulator, type Simulator, type SimulatorOptions } from './simulate';
export { serve, type ServeOptions, type ConfigSource } from './serve';
