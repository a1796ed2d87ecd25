/**
 * An in-process gateway on 127.0.0.1 with OS-assigned ports, collecting its decisions, closes and
 * log lines for assertions.
 */
import { Gateway, type CloseRecord, type DecisionRecord } from '../../lib/gateway/server';
import { Logger } from '../../lib/gateway/log';
import { validateGatewayConfig } from '../../lib/tenants/validate';
import type { GatewayConfig, GatewayConfigInput } from '../../lib/tenants/schema';
import { waitFor } from './sockets';

export interface TestGateway {
  readonly gateway: Gateway;
  readonly privateLinkPort: number;
  readonly publicPort: number;
  readonly healthPort: number;
  readonly decisions: DecisionRecord[];
  readonly closes: CloseRecord[];
  readonly logs: Record<string, unknown>[];
  waitForDecision(match: (d: DecisionRecord) => boolean, timeoutMs?: number): Promise<DecisionRecord>;
  close(): Promise<void>;
}

export type TestConfig = Omit<GatewayConfigInput, 'listeners'> & { listeners?: GatewayConfigInput['listeners'] };

export function testConfig(input: TestConfig): GatewayConfig {
  const result = validateGatewayConfig({
    listeners: {
      privateLink: { port: 0, host: '127.0.0.1' },
      public: { port: 0, host: '127.0.0.1' },
      health: { port: 0, host: '127.0.0.1' },
    },
    ...input,
    log: { maxDropLinesPerSec: 100_000, ...input.log },
  });
  if (!result.ok) throw new Error(`test config invalid: ${JSON.stringify(result.issues)}`);
  return result.value;
}

export async function startTestGateway(input: TestConfig, options: { configPath?: string } = {}): Promise<TestGateway> {
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger({
    sink: (text) => {
      for (const line of text.split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  const gateway = new Gateway({ config: testConfig(input), logger, configPath: options.configPath });
  const decisions: DecisionRecord[] = [];
  const closes: CloseRecord[] = [];
  gateway.on('decision', (d: DecisionRecord) => decisions.push(d));
  gateway.on('close', (c: CloseRecord) => closes.push(c));
  await gateway.start();
  return {
    gateway,
    privateLinkPort: gateway.address('privateLink')!.port,
    publicPort: gateway.address('public')?.port ?? -1,
    healthPort: gateway.address('health')!.port,
    decisions,
    closes,
    logs,
    waitForDecision: (match, timeoutMs = 5000) => waitFor(() => decisions.find(match), timeoutMs, 'a matching decision'),
    close: () => gateway.close(),
  };
}
