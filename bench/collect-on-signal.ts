/**
 * Preloaded into the gateway the memory step measures (`--require`, with `--expose-gc`): SIGUSR2
 * runs a full garbage collection, so that RSS is read without garbage whose collection time V8
 * decides. Benchmark only; the gateway itself never loads it.
 */
const collect = (globalThis as { gc?: () => void }).gc;
if (collect) process.on('SIGUSR2', () => collect());
