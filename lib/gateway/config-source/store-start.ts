/**
 * Start-up with the config in an object store (`--config-url`): before the first good document
 * the process serves no traffic and is not ready.
 *
 * "Not ready" precisely: no traffic listener is bound (connections are refused, so a load
 * balancer sees nothing to route to); a health listener on LINKGATE_HEALTH_PORT (default 8080),
 * LINKGATE_HEALTH_HOST (default 0.0.0.0) answers /healthz 200 (the process is alive and
 * retrying: an orchestrator should not restart it for a store outage), /readyz 503, and /metrics
 * with the fetch failures and the config age. Once a document validates, that listener is closed
 * and the gateway starts as with a file (its health listener from the document).
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { HealthServer } from '../health';
import type { Logger } from '../log';
import { ConfigPoller, ConfigSourceMetrics, resolvePollIntervalMs, type ConfigHandler, type LoadedConfig } from './poller';
import { configFetcher } from './url';

export interface StoreStart {
  readonly poller: ConfigPoller;
  readonly metrics: ConfigSourceMetrics;
  readonly first: LoadedConfig;
  readonly firstBytes: Buffer;
}

/** Starts polling and waits (not ready) for the first good document. */
export async function waitForFirstConfig(
  url: string,
  registry: Registry,
  metrics: ConfigSourceMetrics,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StoreStart> {
  const fetcher = configFetcher(url, env);
  const intervalMs = resolvePollIntervalMs(env.LINKGATE_CONFIG_POLL_SEC);
  let resolveFirst!: (first: { loaded: LoadedConfig; bytes: Buffer }) => void;
  const first = new Promise<{ loaded: LoadedConfig; bytes: Buffer }>((resolve) => (resolveFirst = resolve));
  const poller = new ConfigPoller({
    fetcher,
    intervalMs,
    logger,
    metrics,
    onConfig: (loaded, bytes) => {
      poller.suspend();
      resolveFirst({ loaded, bytes });
      return null;
    },
  });
  const health = new HealthServer({
    isLive: () => true,
    isReady: () => false,
    metrics: async () => ({
      contentType: registry.contentType,
      body: await registry.metrics(),
    }),
  });
  const port = Number(env.LINKGATE_HEALTH_PORT || 8080);
  const host = env.LINKGATE_HEALTH_HOST || '0.0.0.0';
  const address = await health.listen(port, host);
  logger.info('waiting for the config object; not ready until it is fetched', {
    source: fetcher.describe,
    health: address.port,
    pollSec: intervalMs / 1000,
  });
  // A hang-up asks for a poll now, as it asks a file to be read again.
  const onHup = () => void poller.poll();
  process.on('SIGHUP', onHup);
  poller.start();
  const { loaded, bytes } = await first;
  process.off('SIGHUP', onHup);
  await health.close();
  return { poller, metrics, first: loaded, firstBytes: bytes };
}

/**
 * The running gateway's side of the poller: new documents go to `apply`. SIGHUP fetches the whole
 * document now and applies it even when unchanged, because a reload also re-reads what the config
 * names (http mode's certificate files, which a host agent may have just renewed).
 */
export function storeWatcher(start: StoreStart, apply: ConfigHandler): { close(): void; recheck(): void } {
  const onHup = () => start.poller.recheck();
  process.on('SIGHUP', onHup);
  start.poller.resume(apply);
  return {
    close() {
      process.off('SIGHUP', onHup);
      start.poller.close();
    },
    recheck: () => start.poller.recheck(),
  };
}

/**
 * The local copy cluster workers read (they load it as a config file): written whole, then
 * renamed into place, so a worker never reads half of it. LINKGATE_CONFIG_CACHE_DIR, else the
 * system's temporary directory.
 */
export function createConfigCache(env: NodeJS.ProcessEnv = process.env): {
  file: string;
  write(bytes: Buffer): void;
} {
  const dir = mkdtempSync(join(env.LINKGATE_CONFIG_CACHE_DIR || tmpdir(), 'linkgate-config-'));
  const file = join(dir, 'config');
  return {
    file,
    write(bytes) {
      writeFileSync(`${file}.tmp`, bytes, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    },
  };
}
