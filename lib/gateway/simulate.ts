/**
 * `linkgate simulate`: a local stand-in for a cloud's Private Link edge. Every connection it
 * accepts is forwarded to the gateway behind the PROXY v2 header that cloud would write, naming
 * the client's address and the configured link ID. The demo, tests and benchmarks use it.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Cloud } from '../tenants/ids';
import { canonicalLinkId, LINK_ID_FORMATS } from '../tenants/ids';
import { cloudProxyHeader } from './proxy-protocol/encoder';
import { plainAddress } from './net-util';

export interface SimulatorOptions {
  readonly cloud: Cloud;
  readonly linkId: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly to: { readonly host: string; readonly port: number };
}

export interface Simulator {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const linkId = canonicalLinkId(options.cloud, options.linkId);
  if (linkId === undefined) {
    throw new Error(`--link-id ${JSON.stringify(options.linkId)} is not ${LINK_ID_FORMATS[options.cloud]}`);
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    sockets.add(client);
    const upstream = connect({ host: options.to.host, port: options.to.port, allowHalfOpen: true, noDelay: true });
    sockets.add(upstream);
    const source = { address: plainAddress(client.remoteAddress) ?? '0.0.0.0', port: client.remotePort ?? 0 };
    const destination = { address: plainAddress(client.localAddress) ?? '0.0.0.0', port: client.localPort ?? 0 };
    upstream.write(cloudProxyHeader(options.cloud, linkId, source, destination));
    client.pipe(upstream);
    upstream.pipe(client);
    const teardown = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (!client.writableEnded) client.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
