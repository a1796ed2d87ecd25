/**
 * `--config-url` / LINKGATE_CONFIG_URL: which store, and its fetcher.
 *
 *   s3://BUCKET/KEY                                          Amazon S3
 *   https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB     Azure Blob Storage
 *   gs://BUCKET/OBJECT                                       Google Cloud Storage
 *
 * `http://` (a local stand-in of Blob Storage) only with LINKGATE_ALLOW_INSECURE_CONFIG_URL=1:
 * the tenant list is what decides who gets in, and must not travel unauthenticated.
 */
import { azureBlobFetcher } from './azure-blob';
import { gcsFetcher } from './gcs';
import { s3Fetcher } from './s3';
import type { ConfigFetcher } from './types';

export const CONFIG_URL_FORMS = 's3://BUCKET/KEY, https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB or gs://BUCKET/OBJECT';

export function configFetcher(text: string, env: NodeJS.ProcessEnv = process.env): ConfigFetcher {
  const bad = (why: string) => new Error(`config URL ${JSON.stringify(text)} ${why}; expected ${CONFIG_URL_FORMS}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('is not a URL');
  }
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  switch (url.protocol) {
    case 's3:':
      if (!url.hostname || !path) throw bad('names no bucket or key');
      return s3Fetcher({
        bucket: url.hostname,
        key: path,
        region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
        endpoint: env.LINKGATE_S3_ENDPOINT || undefined,
      });
    case 'gs:':
      if (!url.hostname || !path) throw bad('names no bucket or object');
      return gcsFetcher({
        bucket: url.hostname,
        object: path,
        endpoint: env.LINKGATE_GCS_ENDPOINT || undefined,
        metadataHost: env.LINKGATE_GCE_METADATA_HOST || undefined,
      });
    case 'https:':
    case 'http:': {
      if (url.protocol === 'http:' && env.LINKGATE_ALLOW_INSECURE_CONFIG_URL !== '1') {
        throw bad('is plain http (allowed only with LINKGATE_ALLOW_INSECURE_CONFIG_URL=1, for a local stand-in)');
      }
      if (url.protocol === 'https:' && !url.hostname.endsWith('.blob.core.windows.net')) throw bad('is not an Azure Blob Storage URL');
      if (url.search || url.username || url.password) throw bad('carries a query or credentials (the gateway uses its managed identity)');
      if (path.split('/').filter(Boolean).length < 2) throw bad('names no container and blob');
      return azureBlobFetcher({
        url: url.href,
        imdsEndpoint: env.LINKGATE_AZURE_IMDS_ENDPOINT || undefined,
        clientId: env.LINKGATE_AZURE_CLIENT_ID || undefined,
      });
    }
    default:
      throw bad(`has an unsupported scheme "${url.protocol}"`);
  }
}
