/**
 * A transparent TCP proxy with no logic at all, for `npm run bench:floor`: what Node.js itself
 * costs per connection and per byte, before any gateway work. Not part of the product.
 *
 *   node minimal-proxy.js MODE LISTEN_PORT UPSTREAM_PORT     → prints {"port":N} when listening
 *
 * MODE
 *   events    'data' events and write(), as linkgate forwards: a new buffer for every read.
 *   onread-up the upstream socket reads into one reused 64 KiB buffer (`onread`, public API for
 *             client sockets); the accepted side as `events`.
 *   onread    both sides read into their own reused 64 KiB buffer. The accepted socket has no
 *             public `onread`, so its handle is moved into a new Socket: an internal API, which
 *             is why this exists only here, to measure what reused buffers would be worth.
 * With reused buffers a read may only be overwritten once its bytes reached the kernel, so a read
 * whose write did not complete stops that socket's reads until the write callback.
 */
import { createServer, connect, Socket } from 'node:net';

const [mode = 'events', listenPort = '0', upstreamPort = '0'] = process.argv.slice(2);

function reusedBuffer(destination: () => Socket, self: () => Socket): { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean } {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  return {
    buffer,
    callback(n: number, buf: Buffer): boolean {
      const out = destination();
      out.write(buf.subarray(0, n));
      if (out.writableLength === 0) return true;
      // Queued, still pointing into `buffer`: no more reads until it is written.
      out.write(Buffer.alloc(0), () => self().resume());
      return false;
    },
  };
}

function pass(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
}

function tie(a: Socket, b: Socket): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('end', () => b.end());
  b.on('end', () => a.end());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: mode === 'onread' }, (accepted) => {
  let client = accepted;
  const upstreamOptions = { host: '127.0.0.1', port: Number(upstreamPort), allowHalfOpen: true, noDelay: true };
  if (mode === 'events') {
    const upstream = connect(upstreamOptions);
    pass(client, upstream);
    pass(upstream, client);
    return tie(client, upstream);
  }
  if (mode === 'onread') {
    const internal = accepted as unknown as { _handle: unknown };
    const handle = internal._handle;
    internal._handle = null;
    accepted.destroy();
    client = new Socket({ handle, allowHalfOpen: true, onread: reusedBuffer(() => upstream, () => client) } as unknown as ConstructorParameters<typeof Socket>[0]);
  }
  const upstream: Socket = connect({ ...upstreamOptions, onread: reusedBuffer(() => client, () => upstream) });
  if (mode === 'onread-up') pass(client, upstream);
  tie(client, upstream);
});

server.listen(Number(listenPort), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
