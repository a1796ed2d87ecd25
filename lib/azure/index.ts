/**
 * linkgate/azure: CDK for Terraform constructs (cdktf + @cdktf/provider-azurerm) that put the
 * filtering gateway behind Azure Private Link. Constructs never create the AzurermProvider; the app
 * or stack does.
 */
export * from './subnets';
export * from './load-balancer';
export * from './public-load-balancer';
export * from './cloud-init';
export * from './gateway';
export * from './private-link-service';
export * from './private-link-gateway';
export * from './consumer';
export * from './ownership';
export * from './egress';
export * from './private-endpoint';
export * from './boot-network';
export * from './config-store';
export * from './observability';
export * from './http-mode';
