/**
 * The HTTP-mode benchmark's upstream: plain HTTP/1.1 in its own process, the same for every path.
 * `/small` answers 64 bytes, `/big` 1 MiB. Prints {"port":N} once listening.
 */
import { createServer } from 'node:http';

const SMALL = Buffer.alloc(64, 'a');
const BIG = Buffer.alloc(1024 * 1024, 'b');

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    const body = req.url === '/big' ? BIG : SMALL;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
});
server.maxConnections = 1_000_000;
server.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', backlog: 4096 }, () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
