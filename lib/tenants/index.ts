/**
 * linkgate/tenants: the tenant model shared by the gateway and the constructs. Imports neither
 * aws-cdk-lib nor cdktf.
 */
export * from './ids';
export * from './schema';
export * from './validate';
export * from './load';
export * from './render';
export * from './rules';
export * from './hostnames';
export * from './upstream-tlv';
export * from './http-mode';
export { gatewayConfigJsonSchema, gatewayConfigJsonSchemaText } from './json-schema';
