/**
 * linkgate: the tenant model and the gateway. The constructs live in linkgate/aws, linkgate/azure
 * and linkgate/gcp so that loading one cloud never loads another's libraries.
 */
export * from './tenants';
export * as gateway from './gateway';
