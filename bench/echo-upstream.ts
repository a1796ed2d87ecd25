/**
 * The benchmark's upstream: a TCP echo server in its own process. Prints {"port":N} once listening.
 * Every path (direct, linkgate, HAProxy) ends here, so its cost is the same in every ratio.
 */
import { createServer } from 'node:net';

const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});
server.maxConnections = 1_000_000;
server.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', backlog: 4096 }, () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
