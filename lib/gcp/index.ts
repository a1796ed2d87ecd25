/**
 * linkgate/gcp: CDK for Terraform constructs for Google Cloud (cdktf 0.21.0,
 * @cdktf/provider-google 16.12.1). They never create the google provider; your stack does.
 */
export * from './private-service-connect-gateway';
export * from './gateway-instance-group';
export * from './private-link-load-balancer';
export * from './public-load-balancer';
export { PassthroughLoadBalancer, type LoadBalancerOptions, type PassthroughProps, type PassthroughScheme } from './load-balancer-common';
export * from './service-attachment';
export * from './consumer-endpoint';
export { EXTERNAL_HEALTH_CHECK_RANGES, INTERNAL_HEALTH_CHECK_RANGES, METADATA_VALUE_MAX_BYTES } from './common';
export { CONTAINER_CONFIG_PATH, HOST_CONFIG_PATH, renderGatewayUserData, type GatewayUserDataOptions } from './cloud-init';
export * from './ownership';
export { GatewayObservability, CONFIG_FETCH_FAILURES_THRESHOLD, type AlertSpec, type GatewayObservabilityOptions, type GatewayObservabilityProps } from './observability';
export { GatewayConfigBucket, CONFIG_OBJECT_NAME, INLINE_USER_DATA_MAX_BYTES, type ConfigBucketProps, type ConfigDelivery } from './config-delivery';
export type { SharedVpcOptions } from './shared-vpc';
export type { AttachmentPolicyOptions, ConnectionPreference } from './attachment-policy';
export type { FirewallRuleSpec } from './gateway-firewall';
export { MAX_FORWARDING_RULE_PORTS } from './load-balancer-common';
export * from './http-mode';
