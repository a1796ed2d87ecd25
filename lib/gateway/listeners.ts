/**
 * The traffic listeners a config asks for: `privateLink`, the optional `public`, and each of
 * `additionalPrivateLink` (PROXY v2 required, same tenant rules as `privateLink`, every allowed
 * connection sent to the listener's own upstream). A listener's name is its `listener` label in
 * metrics and decision logs.
 */
import type { GatewayConfig } from '../tenants/schema';
import type { ListenerKind } from './policy';

export interface ListenerSpec {
  /** How connections are read and decided: PROXY v2 required (privateLink) or forbidden (public). */
  readonly kind: ListenerKind;
  /** Metrics and log label: `privateLink`, `public`, or the additional listener's name. */
  readonly name: string;
  /** Upstream every allowed connection goes to; null: the tenant's own. */
  readonly upstream: string | null;
  readonly port: number;
  readonly host: string;
}

export const PRIVATE_LINK: Pick<ListenerSpec, 'kind' | 'name' | 'upstream'> = { kind: 'privateLink', name: 'privateLink', upstream: null };
export const PUBLIC: Pick<ListenerSpec, 'kind' | 'name' | 'upstream'> = { kind: 'public', name: 'public', upstream: null };

export function listenerSpecs(listeners: GatewayConfig['listeners']): ListenerSpec[] {
  const specs: ListenerSpec[] = [{ ...PRIVATE_LINK, port: listeners.privateLink.port, host: listeners.privateLink.host }];
  if (listeners.public) specs.push({ ...PUBLIC, port: listeners.public.port, host: listeners.public.host });
  for (const l of listeners.additionalPrivateLink ?? []) {
    specs.push({ kind: 'privateLink', name: l.name, upstream: l.upstream, port: l.port, host: l.host });
  }
  return specs;
}

/**
 * Why `next` cannot be applied to gateways listening as `running` says, or null. Listeners are
 * bound at start and kept across reloads (a changed port takes effect at the next restart), so
 * an upstream a running additional listener sends to must still exist: otherwise its allowed
 * connections would have nowhere to go.
 */
export function missingListenerUpstreams(running: GatewayConfig['listeners'], next: GatewayConfig): string | null {
  const missing = (running.additionalPrivateLink ?? []).filter((l) => !Object.hasOwn(next.upstreams, l.upstream));
  if (missing.length === 0) return null;
  return missing
    .map((l) => `listener "${l.name}" (running on port ${l.port}) sends to upstream "${l.upstream}", which the new config no longer defines; restart to change listeners`)
    .join('\n');
}
