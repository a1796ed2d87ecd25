/**
 * linkgate/aws: aws-cdk-lib constructs for the provider side (load balancer dedicated to
 * PrivateLink, filtering gateway on Fargate, endpoint service, private DNS — or all of them in
 * `LinkgateProvider`) and the consumer side (`LinkgateConsumerEndpoint`).
 */
export * from './private-link-load-balancer';
export * from './filtering-gateway';
export * from './endpoint-service';
export * from './private-dns';
export * from './provider';
export * from './consumer-endpoint';
export * from './observability';
export * from './config-delivery';
export * from './http-mode';
export { LinkgateValidationError } from './internal/validate';
export {
  DEFAULT_HEALTH_PORT,
  DEFAULT_PRIVATE_LINK_PORT,
  DEFAULT_PUBLIC_PORT,
  ECS_TASK_DEFINITION_MAX_BYTES,
  FARGATE_MAX_STOP_TIMEOUT_SEC,
  MAX_INLINE_CONFIG_BYTES,
} from './defaults';
export * from './ownership';
