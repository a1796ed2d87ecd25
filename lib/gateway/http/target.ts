/**
 * The request-target as the upstream will route it (RFC 9112 §3.2). A server must route an
 * absolute-form target (`GET http://other.example/x`) on the target's authority and ignore Host
 * (§3.2.2; nginx does): forwarded as sent, the decision taken on Host would not be the one the
 * upstream applies. So the gateway accepts a target only in a form whose routing it decided:
 *
 *   origin-form `/path?query`                        as is
 *   absolute-form `scheme://authority/path?query`    only when its host is the decided Host;
 *                                                    forwarded in origin-form
 *   asterisk-form `*`                                OPTIONS only
 *   anything else (authority-form outside CONNECT)   refused
 */
import { hostnameOf } from './headers';

export type Target = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly detail: string };

const ABSOLUTE = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^#]*)$/i;

/** `hostname` is the request's Host / :authority, already normalized by hostnameOf. */
export function originFormTarget(method: string | undefined, url: string | undefined, hostname: string): Target {
  const target = url ?? '';
  if (target.startsWith('/')) return { ok: true, path: target };
  if (target === '*') {
    return method === 'OPTIONS' ? { ok: true, path: '*' } : { ok: false, detail: `asterisk-form target with ${String(method).slice(0, 16)}` };
  }
  const m = ABSOLUTE.exec(target);
  if (!m) return { ok: false, detail: `request-target ${JSON.stringify(target.slice(0, 64))} is not origin-form` };
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!;
  if ((scheme !== 'http' && scheme !== 'https') || authority.includes('@')) {
    return { ok: false, detail: `absolute-form target ${JSON.stringify(target.slice(0, 64))} refused` };
  }
  if (hostnameOf(authority) !== hostname) {
    return { ok: false, detail: `absolute-form target names ${JSON.stringify(authority.slice(0, 64))}, Host names ${hostname}` };
  }
  const rest = m[3]!;
  return { ok: true, path: rest.startsWith('/') ? rest : `/${rest}` };
}

/**
 * True when a path has a dot segment (`.`, `..`, also percent-encoded) or a backslash: after a
 * path prefix named the tenant, `/alpha/../beta/x` would be resolved by the upstream to another
 * tenant's prefix. Refused rather than resolved: no client needs them.
 */
export function hasDotSegment(path: string): boolean {
  const q = path.indexOf('?');
  const p = (q < 0 ? path : path.slice(0, q)).replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  if (p.includes('\\')) return true;
  return p.split('/').some((segment) => segment === '.' || segment === '..');
}
