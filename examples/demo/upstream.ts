/**
 * The demo's (and the tests') upstream: a real HTTPS server on 127.0.0.1 that answers every
 * request with the name the client asked for, so a client can tell it reached the service through
 * the gateway with TLS intact end to end.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

/** The TLS files stay in the source tree; this file also runs compiled from dist/. */
export const DEMO_TLS_DIR = [join(__dirname, 'tls'), join(__dirname, '..', '..', '..', 'examples', 'demo', 'tls')].find(
  (dir) => existsSync(join(dir, 'server.crt')),
)!;
export const demoCa = (): Buffer => readFileSync(join(DEMO_TLS_DIR, 'ca.crt'));

export interface DemoUpstream {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startDemoUpstream(port = 0, host = '127.0.0.1'): Promise<DemoUpstream> {
  const server = createServer(
    { key: readFileSync(join(DEMO_TLS_DIR, 'server.key')), cert: readFileSync(join(DEMO_TLS_DIR, 'server.crt')) },
    (req, res) => {
      const servername = (req.socket as TLSSocket).servername || null;
      const body = `${JSON.stringify({ upstream: 'demo', servername, path: req.url })}\n`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
  );
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
