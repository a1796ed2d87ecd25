/**
 * The stage after the decision: keeps the decision true for the whole TLS handshake.
 *
 * A TLS 1.3 client may send a second, still plaintext ClientHello after the server answers with a
 * HelloRetryRequest (RFC 8446 §4.1.4), and servers (OpenSSL's, so Node's) act on the SNI of that
 * second hello. So, once a connection is forwarded:
 *
 * 1. Only the ClientHello the decision was made on goes upstream. Whatever the client sends after
 *    it is held (bounded: the client is paused) until the server's first handshake message shows
 *    what it is, so a second hello sent ahead of the retry cannot slip through. Nothing waits on
 *    it: a server answers the first ClientHello alone (early data is only delayed until then).
 * 2. The server's bytes go to the client as they arrive (they are its own answer, harmless) while
 *    the first 38 handshake bytes are read. An ordinary ServerHello (TLS 1.3, or TLS 1.2, whose
 *    first flight this is; TLS 1.2 has no retry) ends the watch. So does an answer that is not a
 *    TLS ServerHello at all: the upstream is the operator's service, not the hostile side, and a
 *    peer that does not answer a ClientHello with a ServerHello runs no handshake that could act on
 *    a later hello (echo servers in tests and benchmarks are such peers).
 * 3. After a HelloRetryRequest the client's next bytes must be a ClientHello (change_cipher_spec,
 *    early data or an alert may come first) whose SNI equals the one decided on, normalised the
 *    same way (the same parser lowercases and drops a trailing dot). Anything else, a missing SNI
 *    or an unreadable hello included, closes the connection with `sni_changed` before the hello
 *    reaches the server, so the server never answers it.
 *
 * Then both directions go back to the server's plain forwarding handlers: no per-chunk work is
 * left once the watch is over. Event handlers are module functions that find their watch on the
 * socket, like server.ts's, so a watch allocates no closures.
 */
import type { Socket } from 'node:net';
import { INCOMPLETE, settledStep, type FeedResult, type IncrementalReader } from './bytes';
import { parseServerHello, serverHelloReader, type ServerHelloErrorCode, type ServerHelloInfo } from './tls/server-hello';
import type { ClientHelloErrorCode } from './tls/client-hello';
import { parseSecondClientHello, secondClientHelloReader, type SecondClientHelloInfo } from './tls/second-client-hello';

export interface WatchedConnection {
  readonly client: Socket;
  readonly upstream: Socket | null;
  /** The SNI the decision was made on, as the ClientHello reader normalised it. */
  readonly serverName: string | null;
}

/** What the gateway does when a watch ends; it owns the forwarding handlers. */
export interface HandshakeWatchHost<C extends WatchedConnection> {
  /** The server's bytes need no more reading: forward them plainly from now on. */
  upstreamSettled(conn: C): void;
  /** The client's bytes need no more reading: write `held` upstream, then forward plainly. */
  clientSettled(conn: C, held: readonly Buffer[]): void;
  /** The handshake left the decision (`sni_changed`): end the connection. Nothing held is sent. */
  handshakeRefused(conn: C, detail: string): void;
}

/** Client bytes held while waiting for the server's hello; beyond this the client is paused. */
export const MAX_HELD_BYTES = 64 * 1024;

const WATCH = Symbol('linkgate.handshakeWatch');
type WatchedSocket = Socket & { [WATCH]?: HandshakeWatch<WatchedConnection> };

type Phase = 'server-hello' | 'second-hello' | 'done';

export class HandshakeWatch<C extends WatchedConnection> {
  private phase: Phase = 'server-hello';
  private held: Buffer[];
  private heldBytes = 0;
  private serverReader: IncrementalReader<ServerHelloInfo, ServerHelloErrorCode> | null = null;
  private helloReader: IncrementalReader<SecondClientHelloInfo, ClientHelloErrorCode> | null = null;

  constructor(
    readonly conn: C,
    private readonly host: HandshakeWatchHost<C>,
    held: Buffer[],
  ) {
    this.held = held;
    for (const b of held) this.heldBytes += b.length;
  }

  /**
   * Client bytes wait here for the server's hello or to complete the retried hello. While none
   * do, the client's FIN may pass at once: nothing can follow it.
   */
  holding(): boolean {
    return this.phase === 'server-hello' ? this.heldBytes > 0 : this.phase === 'second-hello' && this.helloReader !== null;
  }

  /** @internal */
  onServerBytes(chunk: Buffer): void {
    if (this.phase !== 'server-hello') return;
    const result = this.readServerHello(chunk);
    if (result.status === 'incomplete') return;
    this.serverReader = null;
    const upstream = this.conn.upstream as WatchedSocket;
    upstream.off('data', onUpstreamWatchData);
    upstream[WATCH] = undefined;
    this.host.upstreamSettled(this.conn);
    // An ordinary ServerHello, or no ServerHello at all (see the top of the file): done watching.
    if (result.status === 'done' && result.value.helloRetryRequest) {
      this.phase = 'second-hello';
      const held = this.held;
      this.held = [];
      this.heldBytes = 0;
      if (this.conn.client.isPaused()) this.conn.client.resume();
      if (held.length) this.onSecondHelloBytes(held.length === 1 ? held[0]! : Buffer.concat(held));
      return;
    }
    this.settleClient(this.held);
  }

  /** @internal */
  onClientBytes(chunk: Buffer): void {
    if (this.phase === 'second-hello') return this.onSecondHelloBytes(chunk);
    if (this.phase !== 'server-hello') return;
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > MAX_HELD_BYTES) this.conn.client.pause(); // resumed when the watch settles
  }

  private onSecondHelloBytes(chunk: Buffer): void {
    const result = this.readSecondHello(chunk);
    if (result.status === 'incomplete') return;
    this.helloReader = null;
    if (result.status === 'error') {
      return this.refuse(`the ClientHello after a HelloRetryRequest is unreadable (${result.code}: ${result.message})`);
    }
    const decided = this.conn.serverName;
    const now = result.value.serverName;
    if (now !== decided) {
      return this.refuse(`the ClientHello after a HelloRetryRequest names ${describe(now)}, the decision ${describe(decided)}`);
    }
    this.settleClient([result.bytes]);
  }

  private settleClient(held: readonly Buffer[]): void {
    this.stopWatchingClient();
    this.host.clientSettled(this.conn, held);
  }

  private refuse(detail: string): void {
    this.stopWatchingClient();
    this.host.handshakeRefused(this.conn, detail);
  }

  private stopWatchingClient(): void {
    this.phase = 'done';
    this.held = [];
    const client = this.conn.client as WatchedSocket;
    client.off('data', onClientWatchData);
    client[WATCH] = undefined;
  }

  // The common case, the server's hello in its first read, costs no reader and no copy.
  private readServerHello(chunk: Buffer): FeedResult<ServerHelloInfo, ServerHelloErrorCode> {
    if (this.serverReader) return this.serverReader.feed(chunk);
    const step = parseServerHello(chunk);
    if (step.status !== 'incomplete') return settledStep(step, chunk);
    this.serverReader = serverHelloReader().startWith(chunk, step.needed);
    return INCOMPLETE;
  }

  private readSecondHello(chunk: Buffer): FeedResult<SecondClientHelloInfo, ClientHelloErrorCode> {
    if (this.helloReader) return this.helloReader.feed(chunk);
    const step = parseSecondClientHello(chunk);
    if (step.status !== 'incomplete') return settledStep(step, chunk);
    this.helloReader = secondClientHelloReader().startWith(chunk, step.needed);
    return INCOMPLETE;
  }
}

const describe = (name: string | null) => (name === null ? 'no server name' : `"${name}"`);

/**
 * Starts watching a connection just forwarded. `held` is what the client sent after the
 * ClientHello the decision was made on (see `splitAfterHello`); the gateway has written the hello
 * itself upstream, and keeps its drain/end handlers; the watch takes both 'data' events.
 */
export function watchHandshake<C extends WatchedConnection>(conn: C, host: HandshakeWatchHost<C>, held: Buffer[]): HandshakeWatch<C> {
  const watch = new HandshakeWatch(conn, host, held);
  const client = conn.client as WatchedSocket;
  const upstream = conn.upstream as WatchedSocket;
  client[WATCH] = watch as unknown as HandshakeWatch<WatchedConnection>;
  upstream[WATCH] = watch as unknown as HandshakeWatch<WatchedConnection>;
  client.on('data', onClientWatchData);
  upstream.on('data', onUpstreamWatchData);
  return watch;
}

/**
 * Splits the bytes read before the decision into the ClientHello (its first `helloLength` bytes)
 * and what followed it, which waits for the server's hello.
 */
export function splitAfterHello(pending: readonly Buffer[], helloLength: number): { hello: Buffer; rest: Buffer[] } {
  const first = pending[0] ?? Buffer.alloc(0);
  const rest = pending.slice(1);
  if (first.length > helloLength) rest.unshift(first.subarray(helloLength));
  return { hello: first.subarray(0, helloLength), rest };
}

function onClientWatchData(this: WatchedSocket, chunk: Buffer): void {
  this[WATCH]?.onClientBytes(chunk);
}

function onUpstreamWatchData(this: WatchedSocket, chunk: Buffer): void {
  const watch = this[WATCH];
  if (!watch) return;
  // The server's own answer reaches the client at once, with backpressure (the gateway's client
  // 'drain' handler resumes the upstream).
  if (!watch.conn.client.write(chunk)) this.pause();
  watch.onServerBytes(chunk);
}
