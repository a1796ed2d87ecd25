/**
 * The local stand-in for a deployment: the demo HTTPS upstream, an in-process gateway, and one
 * simulated Private Link edge per (cloud, link ID). Real clients connect to the edges.
 */
import { startDemoUpstream, type DemoUpstream } from '../../examples/demo/upstream';
import { startSimulator, type Simulator } from '../../lib/gateway/simulate';
import type { Cloud } from '../../lib/tenants/ids';
import { startTestGateway, type TestConfig, type TestGateway } from './gateway';

export interface Edge {
  readonly cloud: Cloud;
  readonly linkId: string;
}

export interface LocalStack {
  readonly upstream: DemoUpstream;
  readonly gw: TestGateway;
  /** Port of the simulated edge for each `cloud:linkId`. */
  edgePort(cloud: Cloud, linkId: string): number;
  close(): Promise<void>;
}

export async function startLocalStack(config: Omit<TestConfig, 'upstreams'>, edges: readonly Edge[]): Promise<LocalStack> {
  const upstream = await startDemoUpstream();
  const gw = await startTestGateway({ ...config, upstreams: { default: { host: '127.0.0.1', port: upstream.port } } });
  const sims = new Map<string, Simulator>();
  for (const e of edges) {
    sims.set(
      `${e.cloud}:${e.linkId}`,
      await startSimulator({ cloud: e.cloud, linkId: e.linkId, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } }),
    );
  }
  return {
    upstream,
    gw,
    edgePort: (cloud, linkId) => {
      const sim = sims.get(`${cloud}:${linkId}`);
      if (!sim) throw new Error(`no simulated edge for ${cloud}:${linkId}`);
      return sim.address.port;
    },
    close: async () => {
      await Promise.all([...sims.values()].map((s) => s.close()));
      await gw.close();
      await upstream.close();
    },
  };
}
