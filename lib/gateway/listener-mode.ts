/**
 * How cluster workers share a traffic listener's port (`linkgate serve --listener-mode`).
 *
 * - `shared`: the cluster's one listening socket, which every worker accepts from (SCHED_NONE).
 * - `reuseport`: each worker binds a listening socket of its own with SO_REUSEPORT and the kernel
 *   spreads new connections over them by a hash of the addresses: no two workers wake for one
 *   connection, no shared accept queue. `net.Server.listen({ reusePort })` exists from Node.js
 *   22.12 and 23.1; on Node.js 24 it also makes the listen exclusive (the cluster module does not
 *   intercept it), which is set here explicitly as well.
 * - `auto` (the default): see `resolveListenerMode`.
 *
 * What reuseport changes besides speed: connections waiting in a worker's own accept queue when it
 * dies or closes its listener are reset rather than taken by another worker, and a worker busy for
 * a moment (reloading a large policy) keeps receiving its share meanwhile.
 */
export const LISTENER_MODES = ['auto', 'shared', 'reuseport'] as const;
export type ListenerMode = (typeof LISTENER_MODES)[number];

/** Whether this Node.js has `reusePort` in `net.Server.listen` (22.12+, 23.1+, 24+). */
export function reusePortAvailable(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export function parseListenerMode(value: string | undefined): ListenerMode {
  if (value === undefined || value === '') return 'auto';
  if ((LISTENER_MODES as readonly string[]).includes(value)) return value as ListenerMode;
  throw new Error(`--listener-mode must be one of ${LISTENER_MODES.join(', ')}, got ${JSON.stringify(value)}`);
}

/**
 * The mode the workers use. `auto` is `shared`: measured against `reuseport` on Node.js 24 on our
 * 2-core machine (bench/RESULTS.md), see there. `reuseport` needs a Node.js that has it, and fixed
 * ports: with port 0 every worker would get a port of its own.
 */
export function resolveListenerMode(
  mode: ListenerMode,
  ports: readonly number[],
  version: string = process.versions.node,
): { readonly reusePort: boolean } | { readonly error: string } {
  if (mode === 'shared' || mode === 'auto') return { reusePort: false };
  if (!reusePortAvailable(version)) return { error: `--listener-mode reuseport needs Node.js 22.12 or later (this is ${version})` };
  if (ports.includes(0)) return { error: '--listener-mode reuseport needs fixed listener ports (port 0 would give each worker a port of its own)' };
  return { reusePort: true };
}
