/**
 * An upstream on 127.0.0.1 that has not answered yet, for tests of what happens while the gateway's
 * connect() is pending.
 *
 * How: a listener with backlog 1 in a worker thread whose event loop is blocked (Atomics.wait), so
 * nothing accepts; two filler connections fill its accept queue (Linux holds backlog + 1), and
 * from then on the kernel drops every SYN to it ("accept queue full"), so a connect() stays in
 * SYN_SENT, retransmitting, until open() unblocks the worker and the queue drains. The SYN is
 * dropped before tcp_abort_on_overflow is consulted (that setting acts on the handshake's final
 * ACK), so no RST can end the wait early. Only 127.0.0.1 is ever involved.
 *
 * The socket states are read from /proc/net/tcp (Linux), which is what makes "still connecting"
 * something a test can wait for instead of a timing guess.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { waitFor } from './sockets';

export interface AcceptedConnection {
  readonly remotePort: number;
  /** Every byte it received, in order. */
  data: Buffer;
  ended: boolean;
}

export interface StalledUpstream {
  readonly port: number;
  /** Connections accepted after open(), fillers excluded, in the order they were accepted. */
  readonly connections: readonly AcceptedConnection[];
  /** Starts accepting: queued connections are taken, and pending connects complete at their next SYN. */
  open(): void;
  close(): Promise<void>;
}

// Plain JavaScript: runs in the worker as is, outside ts-jest.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:net');
const gate = new Int32Array(workerData.gate);
const server = createServer({ allowHalfOpen: true }, (socket) => {
  const remotePort = socket.remotePort;
  parentPort.postMessage({ kind: 'accepted', remotePort });
  if (workerData.answer) socket.once('data', () => socket.write(Buffer.from(workerData.answer)));
  socket.on('data', (bytes) => parentPort.postMessage({ kind: 'data', remotePort, bytes }));
  socket.on('end', () => parentPort.postMessage({ kind: 'end', remotePort }));
  socket.on('error', () => undefined);
});
parentPort.on('message', (m) => {
  if (m === 'close') server.close();
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  parentPort.postMessage({ kind: 'listening', port: server.address().port });
  // Nothing returns to this thread's event loop, so nothing is accepted, until the gate opens.
  Atomics.wait(gate, 0, 0);
});
`;

type WorkerMessage =
  | { kind: 'listening'; port: number }
  | { kind: 'accepted'; remotePort: number }
  | { kind: 'data'; remotePort: number; bytes: Uint8Array }
  | { kind: 'end'; remotePort: number };

/**
 * `answer`: written back on a connection's first bytes, as a TLS server answers the ClientHello
 * (the gateway holds what a client sends after its hello until the server's hello has come).
 */
export async function startStalledUpstream(options: { answer?: Buffer } = {}): Promise<StalledUpstream> {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const answer = options.answer ? new Uint8Array(options.answer) : undefined;
  const worker = new Worker(WORKER, { eval: true, workerData: { gate: gate.buffer, answer } });
  const connections: AcceptedConnection[] = [];
  const fillerPorts = new Set<number>();
  const byPort = new Map<number, AcceptedConnection>();
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'listening') return resolve(m.port);
      if (fillerPorts.has(m.remotePort)) return;
      if (m.kind === 'accepted') {
        const conn: AcceptedConnection = { remotePort: m.remotePort, data: Buffer.alloc(0), ended: false };
        connections.push(conn);
        byPort.set(m.remotePort, conn);
      } else if (m.kind === 'data') {
        const conn = byPort.get(m.remotePort)!;
        conn.data = Buffer.concat([conn.data, Buffer.from(m.bytes)]);
      } else {
        byPort.get(m.remotePort)!.ended = true;
      }
    });
  });
  const open = () => {
    if (Atomics.load(gate, 0) === 1) return;
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
  };

  const fillers: Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const filler = connect({ host: '127.0.0.1', port });
      filler.on('error', () => undefined);
      fillers.push(filler);
      await new Promise((resolve) => filler.once('connect', resolve));
      fillerPorts.add(filler.localPort!);
    }
    // THE precondition: the kernel reports the queue over its limit, so the next SYN is dropped.
    await waitFor(() => {
      const listener = tcpSockets().find((s) => s.localPort === port && s.state === 'LISTEN');
      return listener && listener.rxQueue > listener.txQueue;
    }, 5000, `the accept queue of 127.0.0.1:${port} to be full`);
  } catch (err) {
    open();
    for (const f of fillers) f.destroy();
    await worker.terminate();
    throw err;
  }

  return {
    port,
    connections,
    open,
    close: async () => {
      open();
      for (const f of fillers) f.destroy();
      worker.postMessage('close');
      await worker.terminate();
    },
  };
}

export interface TcpSocketState {
  readonly localPort: number;
  readonly remotePort: number;
  readonly state: string;
  /** Bytes sent and not yet acknowledged; for a listener, its backlog. */
  readonly txQueue: number;
  /** Bytes received and not yet read by the process; for a listener, connections waiting to be accepted. */
  readonly rxQueue: number;
}

/** include/net/tcp_states.h */
const STATES: Record<string, string> = { '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '0A': 'LISTEN' };

/** The IPv4 TCP sockets of this network namespace, from /proc/net/tcp. */
export function tcpSockets(): TcpSocketState[] {
  const lines = readFileSync('/proc/net/tcp', 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [, local, remote, st, queues] = line.trim().split(/\s+/) as [string, string, string, string, string];
    const [tx, rx] = queues.split(':') as [string, string];
    return {
      localPort: parseInt(local.split(':')[1]!, 16),
      remotePort: parseInt(remote.split(':')[1]!, 16),
      state: STATES[st] ?? st,
      txQueue: parseInt(tx, 16),
      rxQueue: parseInt(rx, 16),
    };
  });
}

/** How many sockets are in SYN_SENT towards `port` on this machine: connects still pending. */
export function connectingTo(port: number): number {
  return tcpSockets().filter((s) => s.remotePort === port && s.state === 'SYN_SENT').length;
}

/**
 * Whether every byte `client` wrote has been read by the process at the other end (a server in
 * this process, such as the gateway): nothing in flight, nothing waiting in the server's socket.
 */
export function readByPeer(client: Socket): boolean {
  if (client.writableLength > 0) return false;
  const sockets = tcpSockets();
  const ours = sockets.find((s) => s.localPort === client.localPort && s.remotePort === client.remotePort);
  const theirs = sockets.find((s) => s.localPort === client.remotePort && s.remotePort === client.localPort);
  return ours !== undefined && theirs !== undefined && ours.txQueue === 0 && theirs.rxQueue === 0;
}
