/**
 * `linkgate serve`: one process, or a cluster of workers (one per core by default).
 *
 * In a cluster the primary owns what must be single: the health listener (/readyz reflects every
 * worker, /metrics sums them), the config watcher and the signals. Workers own the traffic
 * listeners and their policy; on reload each worker reads and validates the file itself, so an
 * invalid file leaves every worker on its last good policy.
 */
import { tuneGarbageCollection } from './gc-tuning';
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';

type metric = MetricObjectWithValues<MetricValue<string>>;
import { formatLocatedIssues, loadConfigFile, parseConfigText, type LoadResult } from '../tenants/load';
import { SHUTDOWN_EXIT_MARGIN_MS, type GatewayConfig } from '../tenants/schema';
import { HealthServer } from './health';
import { resolveListenerMode, type ListenerMode } from './listener-mode';
import { Logger } from './log';
import { ConfigSourceMetrics } from './config-source/poller';
import { GatewayMetrics } from './metrics';
import { startMetricsLog } from './metrics-log';
import { createConfigCache, storeWatcher, waitForFirstConfig, type StoreStart } from './config-source/store-start';
import { missingListenerUpstreams } from './listeners';
import type { OwnershipSnapshot } from './ownership/map';
import { startOwnership } from './ownership/scheduler';
import { sha256, watchConfig, type ConfigWatcher } from './reload';
import { Gateway } from './server';

export type ConfigSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'url'; readonly url: string };

export interface ServeOptions {
  readonly source: ConfigSource;
  /** Number of worker processes; 1 runs everything in this process. */
  readonly workers: number;
  readonly logger?: Logger;
  /** How workers share the traffic listeners' ports (listener-mode.ts); default auto. */
  readonly listenerMode?: ListenerMode;
}

type ToWorker =
  | { type: 'reload'; sha256?: string }
  | { type: 'shutdown' }
  | { type: 'metrics'; id: number }
  | { type: 'ownership'; snapshot: OwnershipSnapshot };
type FromWorker =
  | { type: 'ready' }
  | { type: 'reloaded'; shutdown: GatewayConfig['shutdown']; changedSinceSettled: boolean }
  | { type: 'metrics'; id: number; data: metric[] }
  | { type: 'fatal'; message: string };

export function loadSource(source: ConfigSource): LoadResult {
  if (source.kind === 'file') return loadConfigFile(source.path);
  if (source.kind === 'url') return { ok: false, issues: [{ path: '', message: `${source.url} is fetched by the config poller, not loaded` }] };
  const text = process.env[source.name];
  if (!text) return { ok: false, issues: [{ path: '', message: `environment variable ${source.name} is empty` }] };
  return parseConfigText(text);
}

function describeSource(source: ConfigSource): string {
  return source.kind === 'file' ? source.path : source.kind === 'url' ? source.url : `$${source.name}`;
}

type LoadedConfig = Extract<LoadResult, { ok: true }>;

/** Loads the config or exits 1 listing every issue. */
function loadOrExit(source: ConfigSource, logger: Logger): LoadedConfig {
  const loaded = loadSource(source);
  if (loaded.ok) return loaded;
  const errors = formatLocatedIssues(loaded.issues, describeSource(source));
  logger.error('invalid config; not starting', { source: describeSource(source), errors: errors.split('\n') });
  logger.flush();
  process.stderr.write(`linkgate: invalid config:\n${errors}\n`);
  process.exit(1);
}

export async function serve(options: ServeOptions): Promise<void> {
  // Before any traffic, in every process (gc-tuning.ts).
  const gcTuning = tuneGarbageCollection();
  if (cluster.isWorker) return runWorker(options.source, options.listenerMode ?? 'auto');
  const logger = options.logger ?? new Logger({ base: { pid: process.pid } });
  logger.info('gc tuning', { gcTuning });
  if (options.source.kind === 'url') return serveFromStore(options.source, options.workers, logger);
  const loaded = loadOrExit(options.source, logger);
  if (options.workers <= 1) return runSingle(options.source, loaded, logger);
  // A mode this runtime or these ports cannot have stops the start here, not in every worker.
  const listenerMode = resolveListenerMode(options.listenerMode ?? 'auto', trafficPorts(loaded.value));
  if ('error' in listenerMode) throw new Error(listenerMode.error);
  // Workers accept connections themselves unless NODE_CLUSTER_SCHED_POLICY says otherwise: the
  // round-robin default routes every connection through the primary, which measured 1.8x slower
  // for new connections here, with a 45/55 split between two workers without it (bench/).
  if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE;
  // The primary keeps only what it uses, not the tenant list.
  const { ownership } = loaded.value;
  return runPrimary(
    options.source,
    // The tenant tables only when the primary accepts connections for them (ownership.accept).
    { health: loaded.value.listeners.health, shutdown: loaded.value.shutdown, ownership, index: ownership && ownership.accept !== 'none' ? loaded.index : null },
    options.workers,
    logger,
  );
}

/** A worker's gateway serves traffic only; the primary answers health checks for all of them. */
function createGateway(
  source: ConfigSource,
  loaded: LoadedConfig,
  logger: Logger,
  inWorker: boolean,
  options: { readonly metrics?: GatewayMetrics; readonly reusePort?: boolean } = {},
): Gateway {
  const { metrics, reusePort = false } = options;
  return new Gateway({
    reusePort,
    config: loaded.value,
    index: loaded.index,
    configPath: source.kind === 'file' ? source.path : undefined,
    logger,
    metrics: metrics ?? new GatewayMetrics({ defaultMetrics: !inWorker }),
    serveHealth: !inWorker,
  });
}

/**
 * `--config-url`: wait (not ready, nothing served) for the first good document, then run as with
 * a file; the poller replaces the file watcher. Cluster workers read the primary's local copy.
 */
async function serveFromStore(source: Extract<ConfigSource, { kind: 'url' }>, workers: number, logger: Logger): Promise<void> {
  if (workers <= 1) {
    const metrics = new GatewayMetrics({ defaultMetrics: true });
    const sourceMetrics = new ConfigSourceMetrics(metrics.registry);
    startMetricsLog(metrics, sourceMetrics); // from the start: a store that never answers shows
    const start = await waitForFirstConfig(source.url, metrics.registry, sourceMetrics, logger);
    return runSingle(source, start.first, logger, { start, metrics });
  }
  if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE;
  const registry = new Registry();
  const sourceMetrics = new ConfigSourceMetrics(registry);
  startMetricsLog(undefined, sourceMetrics); // the workers write the connection lines
  const start = await waitForFirstConfig(source.url, registry, sourceMetrics, logger);
  const cache = createConfigCache();
  cache.write(start.firstBytes);
  const { listeners, shutdown, ownership } = start.first.value;
  const index = ownership && ownership.accept !== 'none' ? start.first.index : null;
  return runPrimary(source, { health: listeners.health, shutdown, ownership, index }, workers, logger, { start, registry, cache, listeners });
}

interface SingleStore {
  readonly start: StoreStart;
  readonly metrics: GatewayMetrics;
}

interface PrimaryStore {
  readonly start: StoreStart;
  readonly registry: Registry;
  readonly cache: ReturnType<typeof createConfigCache>;
  /** The listeners the workers bound (kept until a restart). */
  readonly listeners: GatewayConfig['listeners'];
}

async function runSingle(source: ConfigSource, loaded: LoadedConfig, logger: Logger, store?: SingleStore): Promise<void> {
  const gateway = createGateway(source, loaded, logger, false, { metrics: store?.metrics });
  try {
    await gateway.start();
  } catch (err) {
    // A listener that did bind would keep the process alive, serving without the rest (a load
    // balancer probing a health port nobody answers): stop, so the start is seen to fail.
    await gateway.close();
    throw err;
  }
  if (!store) startMetricsLog(gateway.metrics);
  const watcher =
    source.kind === 'file'
      ? watchConfig(source.path, (_cause, sha256) => {
          if (gateway.reload(sha256).changedSinceSettled) watcher?.recheck();
        })
      : store
        ? storeWatcher(store.start, (next) => {
            const outcome = gateway.applyLoaded(next, describeSource(source));
            return outcome.ok ? null : (outcome.errors ?? 'refused');
          })
        : ignoreHangups(source, logger);
  // Single process: the ownership poller runs here and hands its reads straight to the gateway.
  const ownership = startOwnership(loaded.value, {
    registry: gateway.metrics.registry,
    logger,
    publish: (snapshot) => logOwnershipRevocations(logger, gateway.applyOwnership(snapshot).revoked),
    tenantIndex: () => gateway.tenantIndex,
  });
  onTermination(async (signal) => {
    logger.info('signal received', { signal });
    ownership?.stop();
    watcher?.close();
    await gateway.shutdown();
    process.exit(0);
  });
}

async function runWorker(source: ConfigSource, mode: ListenerMode): Promise<void> {
  // From an object store, workers read the primary's local copy of the last good document.
  if (source.kind === 'url') source = { kind: 'file', path: process.env.LINKGATE_CONFIG_CACHE_FILE ?? '' };
  const id = cluster.worker?.id ?? 0;
  const logger = new Logger({ base: { pid: process.pid, worker: id } });
  const loaded = loadSource(source);
  if (!loaded.ok) return fatal(formatLocatedIssues(loaded.issues, describeSource(source)));
  const listenerMode = resolveListenerMode(mode, trafficPorts(loaded.value));
  if ('error' in listenerMode) return fatal(listenerMode.error);
  const gateway = createGateway(source, loaded, logger, true, { reusePort: listenerMode.reusePort });
  try {
    await gateway.start();
  } catch (err) {
    logger.flush();
    return fatal(`cannot listen: ${(err as Error).message}`);
  }
  startMetricsLog(gateway.metrics);
  // The primary decides when to stop; a worker ignores the signals its process group receives.
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  process.on('message', (raw: ToWorker) => {
    switch (raw.type) {
      case 'reload': {
        const outcome = gateway.reload(raw.sha256); // logs its own outcome
        send({ type: 'reloaded', shutdown: gateway.settings.shutdown, changedSinceSettled: outcome.changedSinceSettled === true });
        return;
      }
      case 'shutdown':
        void gateway.shutdown().then(() => process.exit(0));
        return;
      case 'metrics':
        void gateway.metrics.registry.getMetricsAsJSON().then((data) => send({ type: 'metrics', id: raw.id, data }));
        return;
      case 'ownership':
        logOwnershipRevocations(logger, gateway.applyOwnership(raw.snapshot).revoked);
        return;
    }
  });
  send({ type: 'ready' });
}

function send(message: FromWorker): void {
  process.send?.(message);
}

/** Tells the primary why this worker cannot run, then exits once the message is on its way. */
function fatal(message: string): void {
  if (!process.send) process.exit(1);
  process.send({ type: 'fatal', message } satisfies FromWorker, () => process.exit(1));
}

/** What the primary needs of the config: its health listener, and the drain bound (kept current by the workers' reloads). */
interface PrimarySettings {
  readonly health: GatewayConfig['listeners']['health'];
  shutdown: GatewayConfig['shutdown'];
  /** Read at start; a change takes effect at the next restart. */
  readonly ownership: GatewayConfig['ownership'];
  /** Tenant tables for ownership.accept (null when acceptance is off), refreshed on reload. */
  index: LoadedConfig['index'] | null;
}

async function runPrimary(source: ConfigSource, settings: PrimarySettings, count: number, logger: Logger, store?: PrimaryStore): Promise<void> {
  const ready = new Set<number>();
  const reloadWaiters = new Map<number, () => void>();
  /** Workers whose last reload was refused because the file changed after it settled. */
  const staleWorkers = new Set<number>();
  let draining = false;
  let metricsRequest = 0;
  const pendingMetrics = new Map<number, { data: metric[][]; expected: number; done: (d: metric[][]) => void }>();
  const primaryRegistry = store?.registry ?? new Registry();
  collectDefaultMetrics({ register: primaryRegistry, prefix: 'linkgate_primary_' });

  // Our own count of live workers: cluster.workers drops a worker only once both its process has
  // exited and its IPC channel has closed, in either order, so it cannot tell when the last is gone.
  const live = new Set<number>();
  const fork = () => {
    const worker = cluster.fork(store ? { LINKGATE_CONFIG_CACHE_FILE: store.cache.file } : undefined);
    live.add(worker.id);
    worker.on('message', (msg: FromWorker) => onWorkerMessage(worker, msg));
    return worker;
  };
  const onWorkerMessage = (worker: Worker, msg: FromWorker) => {
    switch (msg.type) {
      case 'ready':
        ready.add(worker.id);
        if (ownershipSnapshot) worker.send({ type: 'ownership', snapshot: ownershipSnapshot } satisfies ToWorker);
        if (ready.size === count) logger.info('all workers ready', { workers: count });
        return;
      case 'fatal':
        logger.error('worker could not start', { worker: worker.id, error: msg.message });
        return;
      case 'metrics': {
        const pending = pendingMetrics.get(msg.id);
        if (!pending) return;
        pending.data.push(msg.data);
        if (pending.data.length === pending.expected) pending.done(pending.data);
        return;
      }
      case 'reloaded':
        settings.shutdown = msg.shutdown;
        if (msg.changedSinceSettled) staleWorkers.add(worker.id);
        reloadWaiters.get(worker.id)?.();
        return;
    }
  };

  const health = new HealthServer({
    isLive: () => true,
    isReady: () => !draining && ready.size === count,
    metrics: async () => {
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && ready.has(w.id));
      const id = ++metricsRequest;
      const fromWorkers = await new Promise<metric[][]>((resolve) => {
        const timer = setTimeout(() => {
          pendingMetrics.delete(id);
          resolve(collected);
        }, 2000);
        const collected: metric[][] = [];
        pendingMetrics.set(id, {
          data: collected,
          expected: workers.length,
          done: (d) => {
            clearTimeout(timer);
            pendingMetrics.delete(id);
            resolve(d);
          },
        });
        if (workers.length === 0) resolve(collected);
        for (const w of workers) w.send({ type: 'metrics', id } satisfies ToWorker);
      });
      const own = await primaryRegistry.getMetricsAsJSON();
      const registry = AggregatorRegistry.aggregate([...fromWorkers, own]);
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  });
  const healthAddress = await health.listen(settings.health.port, settings.health.host);
  logger.info('health listening', { health: healthAddress.port, workers: count });

  // A worker that dies before it was ever ready (a port in use, say) would die again: after a few
  // in a row the whole process stops, so that the orchestrator sees a failed start, not a loop.
  let deadBeforeReady = 0;
  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker.id);
    const wasReady = ready.delete(worker.id);
    if (draining) return;
    deadBeforeReady = wasReady ? 0 : deadBeforeReady + 1;
    if (deadBeforeReady >= MAX_FAILED_STARTS) {
      logger.error('workers keep failing to start; stopping', { failedStarts: deadBeforeReady });
      logger.flush();
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }
    logger.error('worker exited; starting a new one', { worker: worker.id, code, signal });
    setTimeout(() => draining || fork(), 500).unref();
  });
  for (let i = 0; i < count; i++) fork();

  // One ownership poller for the cluster: its reads go to every worker (and to each new one).
  let ownershipSnapshot: OwnershipSnapshot | null = null;
  const ownership = startOwnership(settings, {
    registry: primaryRegistry,
    logger,
    publish: (snapshot) => {
      ownershipSnapshot = snapshot;
      for (const w of Object.values(cluster.workers ?? {})) if (w && ready.has(w.id)) w.send({ type: 'ownership', snapshot } satisfies ToWorker);
    },
    tenantIndex: () => settings.index,
  });

  // Workers reload one after another: a large policy keeps a worker busy for a moment, and the
  // others go on accepting meanwhile. A change noticed during a round starts another round after it.
  let reloading = false;
  let reloadAgain = false;
  /** The content the watcher last found settled: every worker is asked to apply exactly that. */
  let settledSha256: string | undefined;
  const reloadWorkers = async (): Promise<void> => {
    if (reloading) return void (reloadAgain = true);
    reloading = true;
    do {
      reloadAgain = false;
      for (const w of Object.values(cluster.workers ?? {})) {
        if (!w || !ready.has(w.id)) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 30_000); // a worker that does not answer does not stall the rest
          reloadWaiters.set(w.id, () => {
            clearTimeout(timer);
            reloadWaiters.delete(w.id);
            resolve();
          });
          w.send({ type: 'reload', sha256: settledSha256 } satisfies ToWorker);
        });
      }
    } while (reloadAgain && !draining);
    reloading = false;
    // A worker that found other bytes than the settled ones kept its config: have the watcher read
    // the file again, so that every worker ends on the same content (even the same bytes as before).
    if (staleWorkers.size > 0 && !draining) {
      logger.warn('a worker read the config while it was being rewritten; reading it again', { workers: [...staleWorkers] });
      staleWorkers.clear();
      watcher?.recheck();
    }
  };
  const watcher =
    source.kind === 'file'
      ? watchConfig(source.path, (cause, sha256) => {
          settledSha256 = sha256;
          logger.info('config change noticed; reloading workers one at a time', { cause });
          if (settings.index) refreshIndex(source, settings);
          void reloadWorkers();
        })
      : store
        ? storeWatcher(store.start, (next, bytes) => {
            const refusal = missingListenerUpstreams(store.listeners, next.value);
            if (refusal !== null) return refusal;
            store.cache.write(bytes);
            settledSha256 = sha256(bytes);
            if (settings.index) settings.index = next.index;
            logger.info('config object changed; reloading workers one at a time', { source: describeSource(source) });
            void reloadWorkers();
            return null;
          })
        : ignoreHangups(source, logger);

  onTermination(async (signal) => {
    draining = true; // /readyz fails from now on
    logger.info('signal received; draining workers', { signal });
    ownership?.stop();
    watcher?.close();
    const bound = settings.shutdown.drainDelayMs + settings.shutdown.drainTimeoutMs + SHUTDOWN_EXIT_MARGIN_MS;
    const exited = new Promise<void>((resolve) => {
      const check = () => live.size === 0 && resolve();
      cluster.on('exit', check);
      check();
    });
    for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: 'shutdown' } satisfies ToWorker);
    const timer = setTimeout(() => {
      logger.error('workers did not stop within the drain bound; killing them', { boundMs: bound });
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    }, bound);
    await exited;
    clearTimeout(timer);
    await health.close();
    logger.info('stopped');
    logger.flush();
    process.exit(0);
  });
}

/**
 * An inline config cannot change while the process runs. SIGHUP would otherwise end the process
 * (Node's default), which is not what an operator sending it means.
 */
function ignoreHangups(source: ConfigSource, logger: Logger): ConfigWatcher {
  const onHup = () => logger.warn('SIGHUP ignored: the config is inline and cannot be reloaded; redeploy to change it', { source: describeSource(source) });
  process.on('SIGHUP', onHup);
  return { close: () => process.off('SIGHUP', onHup), recheck: () => undefined };
}

function onTermination(handler: (signal: NodeJS.Signals) => Promise<void>): void {
  let once = false;
  const run = (signal: NodeJS.Signals) => {
    if (once) return;
    once = true;
    void handler(signal);
  };
  process.on('SIGTERM', run);
  process.on('SIGINT', run);
}

const MAX_FAILED_STARTS = 3;

function trafficPorts(config: GatewayConfig): number[] {
  return [config.listeners.privateLink.port, ...(config.listeners.public ? [config.listeners.public.port] : [])];
}

/** Acceptance needs the tenants' owners in the primary: re-read on reload (an invalid file keeps the last). */
function refreshIndex(source: ConfigSource, settings: PrimarySettings): void {
  const loaded = loadSource(source);
  if (loaded.ok) settings.index = loaded.index;
}

function logOwnershipRevocations(logger: Logger, revoked: number): void {
  if (revoked) logger.info('ownership change revoked live connections', { revoked });
}

export function resolveWorkers(value: string | undefined): number {
  if (value === undefined || value === 'auto' || value === '') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`--workers must be "auto" or a whole number from 1 to 1024, got ${JSON.stringify(value)}`);
  return n;
}
