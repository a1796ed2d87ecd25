/** Small helpers for socket addresses. */

/** "::ffff:10.0.0.1" → "10.0.0.1": IPv4 clients on a dual-stack socket. */
export function plainAddress(address: string | undefined): string | null {
  if (!address) return null;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** "10.0.0.1", 443 → "10.0.0.1:443"; IPv6 in brackets. */
export function joinHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** "HOST:PORT" or "[v6]:PORT" → parts. */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${what} must be HOST:PORT (e.g. 127.0.0.1:8443), got ${JSON.stringify(text)}`);
  return { host: (m[1] ?? m[2])!, port };
}
