/**
 * Local HTTP stand-ins for the three clouds' APIs the ownership pollers read, answering in the
 * documented shapes (fixtures kept small):
 * - AWS EC2 Query API: DescribeVpcEndpointConnections / Accept / RejectVpcEndpointConnections, XML
 *   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointConnections.html,
 *   error shape: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html);
 * - Azure ARM: GET a Private Link Service, PUT a private endpoint connection
 *   (https://learn.microsoft.com/rest/api/virtualnetwork/private-link-services/get), and the IMDS
 *   managed-identity token endpoint;
 * - GCP Compute: serviceAttachments.get
 *   (https://cloud.google.com/compute/docs/reference/rest/v1/serviceAttachments/get), and the
 *   metadata server's service-account token.
 * Each records its requests and can be switched to fail: throttled, garbage, reset, or hanging; the
 * token endpoints separately (`tokenMode`), and their tokens' lifetime set (`tokenLifetimeSec`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ApiMode = 'ok' | 'throttled' | 'garbage' | 'reset' | 'hang';
/**
 * How the token endpoint answers: `error` 500, `garbage` not JSON, `no-token` JSON without
 * access_token, `huge` 100,000 bytes with their Content-Length, `huge-chunked` the same without
 * one, `hang` nothing, `stall` headers and half a body, then nothing.
 */
export type TokenMode = 'ok' | 'error' | 'garbage' | 'no-token' | 'huge' | 'huge-chunked' | 'hang' | 'stall';

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface CloudApi<C> {
  readonly url: string;
  /** The connections the API reports now; tests change it. */
  connections: C[];
  mode: ApiMode;
  tokenMode: TokenMode;
  /** Lifetime of the tokens it hands out (default: the cloud's usual, 86,399 s Azure, 3,599 s GCP). */
  tokenLifetimeSec: number | undefined;
  readonly requests: ApiRequest[];
  /** Requests that reached the main API (not the token endpoint). */
  apiCalls(): number;
  close(): Promise<void>;
}

type Handler = (req: ApiRequest, res: ServerResponse) => void;

async function serveApi<C>(handle: (api: CloudApi<C>) => Handler, isTokenPath: (path: string) => boolean): Promise<CloudApi<C>> {
  const hanging = new Set<ServerResponse>();
  // eslint-disable-next-line prefer-const
  let api: CloudApi<C>;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      const request: ApiRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body };
      api.requests.push(request);
      const token = isTokenPath(request.path);
      if (token && api.tokenMode !== 'ok') return failToken(api.tokenMode, res, hanging);
      if (!token && api.mode === 'reset') return req.socket.destroy();
      if (!token && api.mode === 'hang') return void hanging.add(res);
      if (!token && api.mode === 'garbage') return send(res, 200, 'text/html', '<html>upstream proxy error</html>');
      handler(request, res);
    });
  });
  const handler: Handler = (req, res) => handle(api)(req, res);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  api = {
    url: `http://127.0.0.1:${port}`,
    connections: [],
    mode: 'ok',
    tokenMode: 'ok',
    tokenLifetimeSec: undefined,
    requests: [],
    apiCalls: () => api.requests.filter((r) => !isTokenPath(r.path)).length,
    close: () =>
      new Promise<void>((r) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return api;
}

function failToken(mode: Exclude<TokenMode, 'ok'>, res: ServerResponse, hanging: Set<ServerResponse>): void {
  const huge = JSON.stringify({ access_token: 'x'.repeat(100_000 - 20) }).padEnd(100_000);
  switch (mode) {
    case 'error':
      return send(res, 500, 'application/json', '{"error":"unknown_error","error_description":"token service unavailable"}');
    case 'garbage':
      return send(res, 200, 'text/html', '<html>upstream proxy error</html>');
    case 'no-token':
      return send(res, 200, 'application/json', '{"token_type":"Bearer"}');
    case 'huge':
      return send(res, 200, 'application/json', huge);
    case 'huge-chunked':
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < huge.length; i += 10_000) res.write(huge.slice(i, i + 10_000));
      return void res.end();
    case 'hang':
      return void hanging.add(res);
    case 'stall':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 200 });
      res.write('{"access_token":"half');
      return void hanging.add(res);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

// ---- AWS -------------------------------------------------------------------------------------

export interface AwsConnection {
  vpcEndpointId: string;
  vpcEndpointOwner: string;
  vpcEndpointState: string;
}

const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** The EC2 Query API for one endpoint service; requests must be SigV4-signed. */
export function startAwsApi(serviceId: string): Promise<CloudApi<AwsConnection>> {
  return serveApi<AwsConnection>(
    (api) => (req, res) => {
      const form = new URLSearchParams(req.body);
      const action = form.get('Action');
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) {
        return ec2Error(res, 401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
      }
      if (api.mode === 'throttled') return ec2Error(res, 503, 'RequestLimitExceeded', 'Request limit exceeded.');
      if (action === 'DescribeVpcEndpointConnections') {
        // The filter the poller must send: service-id = ours.
        if (form.get('Filter.1.Name') !== 'service-id' || form.get('Filter.1.Value.1') !== serviceId) {
          return ec2Error(res, 400, 'InvalidParameterValue', 'expected the service-id filter');
        }
        const items = api.connections
          .map(
            (c) =>
              `<item><serviceId>${serviceId}</serviceId><vpcEndpointId>${c.vpcEndpointId}</vpcEndpointId>` +
              `<vpcEndpointOwner>${c.vpcEndpointOwner}</vpcEndpointOwner><vpcEndpointState>${c.vpcEndpointState}</vpcEndpointState>` +
              `<creationTimestamp>2026-11-30T07:00:00.000Z</creationTimestamp></item>`,
          )
          .join('');
        return send(
          res,
          200,
          'text/xml;charset=UTF-8',
          `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeVpcEndpointConnectionsResponse xmlns="${EC2_NS}"><requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId><vpcEndpointConnectionSet>${items}</vpcEndpointConnectionSet></DescribeVpcEndpointConnectionsResponse>`,
        );
      }
      if (action === 'AcceptVpcEndpointConnections' || action === 'RejectVpcEndpointConnections') {
        const ids = [...form.entries()].filter(([k]) => k.startsWith('VpcEndpointId.')).map(([, v]) => v);
        for (const c of api.connections) {
          if (ids.includes(c.vpcEndpointId)) c.vpcEndpointState = action.startsWith('Accept') ? 'available' : 'rejected';
        }
        return send(
          res,
          200,
          'text/xml;charset=UTF-8',
          `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId><unsuccessful/></${action}Response>`,
        );
      }
      return ec2Error(res, 400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    },
    () => false,
  );
}

function ec2Error(res: ServerResponse, status: number, code: string, message: string): void {
  send(
    res,
    status,
    'text/xml;charset=UTF-8',
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>`,
  );
}

/** Environment for a CLI gateway talking to this stand-in with static test credentials. */
export function awsTestEnv(api: CloudApi<AwsConnection>): NodeJS.ProcessEnv {
  return {
    LINKGATE_OWNERSHIP_AWS_ENDPOINT: api.url,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

// ---- Azure -----------------------------------------------------------------------------------

export interface AzureConnection {
  name: string;
  linkIdentifier: string;
  /** Resource ID of the consumer's private endpoint (its subscription is the owner). */
  privateEndpointId: string;
  status: 'Pending' | 'Approved' | 'Rejected' | 'Disconnected';
}

export const AZURE_TOKEN = 'eyJ0eXAiOi-azure-test-token';

/** ARM for one Private Link Service plus IMDS's token endpoint, on one port. */
export function startAzureApi(plsId: string): Promise<CloudApi<AzureConnection>> {
  const isToken = (path: string) => path.startsWith('/metadata/identity/oauth2/token');
  return serveApi<AzureConnection>(
    (api) => (req, res) => {
      const url = new URL(req.path, 'http://x');
      if (isToken(req.path)) {
        if (req.headers.metadata !== 'true') return send(res, 400, 'application/json', '{"error":"invalid_request","error_description":"Required metadata header not specified"}');
        return send(
          res,
          200,
          'application/json',
          JSON.stringify({
            access_token: AZURE_TOKEN,
            client_id: '00000000-0000-0000-0000-0000000000c1',
            expires_in: String(api.tokenLifetimeSec ?? 86_399),
            expires_on: String(Math.floor(Date.now() / 1000) + (api.tokenLifetimeSec ?? 86_399)),
            ext_expires_in: '86399',
            not_before: String(Math.floor(Date.now() / 1000)),
            resource: url.searchParams.get('resource'),
            token_type: 'Bearer',
          }),
        );
      }
      if (req.headers.authorization !== `Bearer ${AZURE_TOKEN}`) {
        return send(res, 401, 'application/json', '{"error":{"code":"AuthenticationFailed","message":"Authentication failed."}}');
      }
      if (api.mode === 'throttled') {
        return send(res, 429, 'application/json', '{"error":{"code":"TooManyRequests","message":"Too many requests."}}');
      }
      if (!url.searchParams.get('api-version')) return send(res, 400, 'application/json', '{"error":{"code":"MissingApiVersionParameter"}}');
      const connection = (c: AzureConnection) => ({
        name: c.name,
        id: `${plsId}/privateEndpointConnections/${c.name}`,
        etag: 'W/"00000000-0000-0000-0000-000000000000"',
        type: 'Microsoft.Network/privateLinkServices/privateEndpointConnections',
        properties: {
          provisioningState: 'Succeeded',
          privateEndpoint: { id: c.privateEndpointId },
          privateLinkServiceConnectionState: { status: c.status, description: '', actionsRequired: 'None' },
          linkIdentifier: c.linkIdentifier,
        },
      });
      if (req.method === 'GET' && url.pathname === plsId) {
        return send(
          res,
          200,
          'application/json',
          JSON.stringify({
            name: plsId.split('/').pop(),
            id: plsId,
            type: 'Microsoft.Network/privateLinkServices',
            location: 'westeurope',
            properties: {
              provisioningState: 'Succeeded',
              alias: 'linkgate.00000000-0000-0000-0000-000000000000.westeurope.azure.privatelinkservice',
              enableProxyProtocol: true,
              privateEndpointConnections: api.connections.map(connection),
            },
          }),
        );
      }
      const target = api.connections.find((c) => url.pathname === `${plsId}/privateEndpointConnections/${c.name}`);
      if (req.method === 'PUT' && target) {
        const status = (JSON.parse(req.body) as { properties: { privateLinkServiceConnectionState: { status: AzureConnection['status'] } } }).properties
          .privateLinkServiceConnectionState.status;
        target.status = status;
        return send(res, 200, 'application/json', JSON.stringify(connection(target)));
      }
      return send(res, 404, 'application/json', '{"error":{"code":"ResourceNotFound"}}');
    },
    isToken,
  );
}

// ---- GCP -------------------------------------------------------------------------------------

export interface GcpEndpoint {
  pscConnectionId: string;
  /** https://www.googleapis.com/compute/v1/projects/P/global/networks/N */
  consumerNetwork: string;
  endpoint: string;
  status: 'ACCEPTED' | 'PENDING' | 'REJECTED' | 'CLOSED' | 'NEEDS_ATTENTION';
}

export const GCP_TOKEN = 'ya29.gcp-test-token';

/** Compute's serviceAttachments.get for one attachment plus the metadata server's token, on one port. */
export function startGcpApi(attachment: string): Promise<CloudApi<GcpEndpoint>> {
  const isToken = (path: string) => path.startsWith('/computeMetadata/');
  return serveApi<GcpEndpoint>(
    (api) => (req, res) => {
      if (isToken(req.path)) {
        if (req.headers['metadata-flavor'] !== 'Google') return send(res, 403, 'text/html', 'Missing Metadata-Flavor:Google header.');
        return send(res, 200, 'application/json', JSON.stringify({ access_token: GCP_TOKEN, expires_in: api.tokenLifetimeSec ?? 3599, token_type: 'Bearer' }));
      }
      if (req.headers.authorization !== `Bearer ${GCP_TOKEN}`) {
        return send(res, 401, 'application/json', '{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}');
      }
      if (api.mode === 'throttled') {
        return send(res, 429, 'application/json', '{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}');
      }
      if (req.method === 'GET' && req.path === `/compute/v1/${attachment}`) {
        const [, project, , region, , name] = attachment.split('/');
        return send(
          res,
          200,
          'application/json',
          JSON.stringify({
            kind: 'compute#serviceAttachment',
            id: '4471395006315532093',
            name,
            region: `https://www.googleapis.com/compute/v1/projects/${project}/regions/${region}`,
            selfLink: `https://www.googleapis.com/compute/v1/${attachment}`,
            connectionPreference: 'ACCEPT_MANUAL',
            enableProxyProtocol: true,
            connectedEndpoints: api.connections,
          }),
        );
      }
      return send(res, 404, 'application/json', '{"error":{"code":404,"status":"NOT_FOUND"}}');
    },
    isToken,
  );
}
