/**
 * Amazon S3: GetObject with the SDK's default credential chain (on ECS, the task role) and
 * `If-None-Match`, so an unchanged object costs a 304. Region from AWS_REGION; a test endpoint
 * (LINKGATE_S3_ENDPOINT) is addressed path-style.
 */
import { describeError } from '../cloud-auth/http';
import { MAX_CONFIG_BYTES, type ConfigFetcher, type FetchOutcome } from './types';

export interface S3Options {
  readonly bucket: string;
  readonly key: string;
  readonly region?: string;
  readonly endpoint?: string;
}

type S3Module = typeof import('@aws-sdk/client-s3');

export function s3Fetcher(options: S3Options): ConfigFetcher {
  // Loaded here, not at the top: only a gateway with an s3:// config pays the SDK's ~20 MB in
  // every process. require, not import(): the package is CommonJS and so is this build.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { GetObjectCommand, S3Client } = require('@aws-sdk/client-s3') as S3Module;
  const client = new S3Client({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    maxAttempts: 2, // the poller retries on its own schedule
  });
  const describe = `s3://${options.bucket}/${options.key}`;
  return {
    describe,
    async fetch(validator, signal): Promise<FetchOutcome> {
      let out;
      try {
        out = await client.send(
          new GetObjectCommand({
            Bucket: options.bucket,
            Key: options.key,
            ...(validator ? { IfNoneMatch: validator } : {}),
          }),
          { abortSignal: signal }
        );
      } catch (err) {
        const e = err as Error & {
          $metadata?: { httpStatusCode?: number };
          Code?: string;
        };
        if (e.$metadata?.httpStatusCode === 304) return { status: 'unchanged' };
        const status = e.$metadata?.httpStatusCode;
        throw new Error(`GetObject ${describe}: ${status ? `HTTP ${status} ` : ''}${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${describeError(err)}`, { cause: err });
      }
      if ((out.ContentLength ?? 0) > MAX_CONFIG_BYTES) {
        (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new Error(`GetObject ${describe}: the object is ${out.ContentLength} bytes; the limit is ${MAX_CONFIG_BYTES}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
          size += chunk.byteLength;
          if (size > MAX_CONFIG_BYTES) {
            (out.Body as { destroy?: () => void }).destroy?.();
            throw new Error(`the object is larger than the limit of ${MAX_CONFIG_BYTES} bytes`);
          }
          chunks.push(Buffer.from(chunk));
        }
      } catch (err) {
        throw new Error(`GetObject ${describe}: reading the body: ${describeError(err)}`, { cause: err });
      }
      return {
        status: 'changed',
        bytes: Buffer.concat(chunks, size),
        validator: out.ETag ?? null,
      };
    },
  };
}
