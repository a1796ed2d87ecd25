/**
 * Local stand-ins of the three object stores, speaking just enough of each to serve one config
 * object the way the gateway fetches it:
 *
 * - S3 GetObject, path style (`GET /BUCKET/KEY`), SigV4 `Authorization` header required, ETag,
 *   `If-None-Match` → 304.
 * - Azure Blob GET (`/CONTAINER/BLOB`) with `Authorization: Bearer` from the IMDS token endpoint
 *   (`/metadata/identity/oauth2/token`, `Metadata: true`), ETag, `If-None-Match` → 304.
 * - GCS JSON API media download (`/storage/v1/b/B/o/O?alt=media`) with a bearer token from the
 *   metadata server (`/computeMetadata/v1/instance/service-accounts/default/token`,
 *   `Metadata-Flavor: Google`), `x-goog-generation`, `ifGenerationNotMatch` → 304.
 *
 * One server answers all of them (tokens and objects); a test picks the store by URL.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Store = 's3' | 'azure' | 'gcs';

export interface StoreRequest {
  readonly store: Store | 'token';
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
}

const TOKEN = 'test-token-linkgate';

export class ObjectStoreStandIn {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private body: Buffer | null = null;
  private generation = 0;
  /** Answer every object request with this status instead (e.g. 403, 500). */
  forceStatus: number | null = null;
  /** Send only this many bytes of the body, then cut the connection (a transfer that breaks). */
  cutAfterBytes: number | null = null;
  readonly requests: StoreRequest[] = [];
  port = 0;

  /** Puts (or replaces) the object: new ETag and generation. null deletes it. */
  put(content: string | Buffer | null): void {
    this.body = content === null ? null : Buffer.isBuffer(content) ? content : Buffer.from(content);
    this.generation++;
  }

  get etag(): string {
    return `"${createHash('md5')
      .update(this.body ?? Buffer.alloc(0))
      .digest('hex')}"`;
  }

  /** Listens on `port` (0: any; a fixed port lets a test start the store after the gateway). */
  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => this.route(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  objectRequests(status?: number): StoreRequest[] {
    return this.requests.filter((r) => r.store !== 'token' && (status === undefined || r.status === status));
  }

  /** Environment for a gateway to reach this stand-in for `store`, and the config URL. */
  env(store: Store): { url: string; env: Record<string, string> } {
    const base = `http://127.0.0.1:${this.port}`;
    switch (store) {
      case 's3':
        return {
          url: 's3://config-bucket/gateway/config.json',
          env: {
            LINKGATE_S3_ENDPOINT: base,
            AWS_REGION: 'eu-west-1',
            AWS_ACCESS_KEY_ID: 'AKIDTEST',
            AWS_SECRET_ACCESS_KEY: 'secret-test',
            AWS_EC2_METADATA_DISABLED: 'true',
          },
        };
      case 'azure':
        return {
          url: `${base}/config/gateway.json`,
          env: {
            LINKGATE_ALLOW_INSECURE_CONFIG_URL: '1',
            LINKGATE_AZURE_IMDS_ENDPOINT: `${base}/metadata/identity/oauth2/token`,
          },
        };
      case 'gcs':
        return {
          url: 'gs://config-bucket/gateway/config.json',
          env: {
            LINKGATE_GCS_ENDPOINT: base,
            LINKGATE_GCE_METADATA_HOST: `127.0.0.1:${this.port}`,
          },
        };
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = (store: StoreRequest['store'], status: number, body?: Buffer | string, headers: Record<string, string> = {}) => {
      this.requests.push({
        store,
        method: req.method ?? '',
        url: req.url ?? '',
        status,
        headers: req.headers,
      });
      res.writeHead(status, headers);
      res.end(body);
    };
    // Token endpoints.
    if (url.pathname === '/metadata/identity/oauth2/token') {
      if (req.headers.metadata !== 'true' || url.searchParams.get('resource') !== 'https://storage.azure.com/') return answer('token', 400, 'bad IMDS request');
      return answer(
        'token',
        200,
        JSON.stringify({
          access_token: TOKEN,
          expires_on: String(Math.floor(Date.now() / 1000) + 3600),
          token_type: 'Bearer',
        })
      );
    }
    if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (req.headers['metadata-flavor'] !== 'Google') return answer('token', 403, 'missing Metadata-Flavor');
      return answer(
        'token',
        200,
        JSON.stringify({
          access_token: TOKEN,
          expires_in: 3599,
          token_type: 'Bearer',
        })
      );
    }
    // Objects.
    let store: Store;
    let notModified: boolean;
    if (url.pathname.startsWith('/storage/v1/b/')) {
      store = 'gcs';
      if (url.searchParams.get('alt') !== 'media' || req.headers.authorization !== `Bearer ${TOKEN}`) return answer(store, 401, 'unauthenticated');
      notModified = url.searchParams.get('ifGenerationNotMatch') === String(this.generation);
    } else if (req.headers['x-ms-version']) {
      store = 'azure';
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(store, 401, 'unauthenticated');
      notModified = req.headers['if-none-match'] === this.etag;
    } else {
      store = 's3';
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=AKIDTEST/')) {
        return answer(store, 403, '<Error><Code>AccessDenied</Code></Error>', {
          'content-type': 'application/xml',
        });
      }
      notModified = req.headers['if-none-match'] === this.etag;
    }
    if (req.method !== 'GET') return answer(store, 405);
    if (this.forceStatus !== null)
      return answer(store, this.forceStatus, `<Error><Code>Forced${this.forceStatus}</Code></Error>`, { 'content-type': 'application/xml' });
    if (this.body === null)
      return answer(store, 404, '<Error><Code>NoSuchKey</Code></Error>', {
        'content-type': 'application/xml',
      });
    const validators = {
      etag: this.etag,
      'x-goog-generation': String(this.generation),
    };
    if (notModified) return answer(store, 304, undefined, validators);
    if (this.cutAfterBytes !== null) {
      this.requests.push({
        store,
        method: req.method,
        url: req.url ?? '',
        status: 200,
        headers: req.headers,
      });
      res.writeHead(200, {
        ...validators,
        'content-length': String(this.body.length),
      });
      res.write(this.body.subarray(0, this.cutAfterBytes), () => res.socket?.destroy());
      return;
    }
    answer(store, 200, this.body, {
      ...validators,
      'content-type': 'application/json',
      'content-length': String(this.body.length),
    });
  }
}
