/**
 * Fuzzing the two parsers that read untrusted bytes: generated and mutated inputs, fed whole and in
 * random pieces. Nothing may throw, hang, or claim bytes past what the input declares. Seeded, so a
 * failure can be replayed (the seed and input are in the message).
 */
import { decodeProxyHeader, encodeProxyHeader, linkIdTlv, proxyHeaderReader } from '../../lib/gateway/proxy-protocol';
import { buildClientHello } from '../../lib/gateway/tls/build-client-hello';
import { clientHelloReader, parseClientHello } from '../../lib/gateway/tls/client-hello';
import { size } from './support';

const INPUTS_PER_PARSER = size(600_000, 15_000);

/** mulberry32: small, fast, good enough to drive a fuzzer reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, bytes };
}
type Rng = ReturnType<typeof prng>;

function mutate(rng: Rng, input: Buffer): Buffer {
  let out = Buffer.from(input);
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits; e++) {
    switch (rng.int(6)) {
      case 0: // flip a bit
        if (out.length) out[rng.int(out.length)]! ^= 1 << rng.int(8);
        break;
      case 1: // set a byte
        if (out.length) out[rng.int(out.length)] = rng.int(256);
        break;
      case 2: // truncate
        out = out.subarray(0, rng.int(out.length + 1));
        break;
      case 3: // insert bytes
        {
          const at = rng.int(out.length + 1);
          out = Buffer.concat([out.subarray(0, at), rng.bytes(1 + rng.int(8)), out.subarray(at)]);
        }
        break;
      case 4: // a length field to an extreme
        if (out.length > 3) {
          const at = rng.int(out.length - 1);
          out.writeUInt16BE([0, 1, 0xffff, out.length, out.length + 1][rng.int(5)]! & 0xffff, at);
        }
        break;
      default: // duplicate a slice
        if (out.length) {
          const from = rng.int(out.length);
          const len = 1 + rng.int(Math.min(32, out.length - from));
          const at = rng.int(out.length + 1);
          out = Buffer.concat([out.subarray(0, at), out.subarray(from, from + len), out.subarray(at)]);
        }
    }
  }
  return out;
}

function pieces(rng: Rng, input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const n = 1 + rng.int(Math.max(1, Math.min(input.length - at, rng.next() < 0.2 ? 3 : 600)));
    out.push(input.subarray(at, at + n));
    at += n;
  }
  return out;
}

const clouds = ['aws', 'azure', 'gcp'] as const;
function validHeader(rng: Rng): Buffer {
  const cloud = clouds[rng.int(3)]!;
  const id = cloud === 'aws' ? `vpce-${rng.bytes(9).toString('hex').slice(0, 17)}` : cloud === 'azure' ? String(rng.int(2 ** 32)) : (BigInt(rng.int(2 ** 32)) * 4294967296n + BigInt(rng.int(2 ** 32))).toString();
  const v6 = rng.next() < 0.3;
  return encodeProxyHeader({
    command: rng.next() < 0.1 ? 'LOCAL' : 'PROXY',
    ...(rng.next() < 0.9
      ? {
          source: { address: v6 ? '2001:db8::1' : '10.0.0.1', port: rng.int(65536) },
          destination: { address: v6 ? 'fd00::2' : '10.0.0.2', port: rng.int(65536) },
        }
      : {}),
    tlvs: [linkIdTlv(cloud, id), ...Array.from({ length: rng.int(3) }, () => ({ type: 0x05 + rng.int(0xd0), value: rng.bytes(rng.int(40)) }))],
    crc32c: rng.next() < 0.5,
    padToLength: rng.next() < 0.3 ? 100 + rng.int(200) : undefined,
  });
}

interface Budget {
  maxMs: number;
  done: number;
  errors: number;
}

describe('fuzzing the PROXY v2 reader', () => {
  test(`GIVEN ${INPUTS_PER_PARSER.toLocaleString('en-US')} generated and mutated inputs THEN no throw, no hang, nothing past the declared length`, () => {
    const seed = 0x5eed_0001;
    const rng = prng(seed);
    const stats: Budget = { maxMs: 0, done: 0, errors: 0 };
    for (let i = 0; i < INPUTS_PER_PARSER; i++) {
      const kind = rng.int(10);
      const input = kind < 2 ? rng.bytes(rng.int(200)) : kind < 3 ? Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), rng.bytes(rng.int(300))]) : mutate(rng, validHeader(rng));
      const trailing = rng.bytes(rng.int(16));
      const started = performance.now();
      let whole: ReturnType<typeof decodeProxyHeader>;
      try {
        whole = decodeProxyHeader(Buffer.concat([input, trailing]));
        const reader = proxyHeaderReader();
        let fed: ReturnType<typeof reader.feed> = { status: 'incomplete' };
        for (const p of pieces(rng, Buffer.concat([input, trailing]))) {
          fed = reader.feed(p);
          if (fed.status !== 'incomplete') break;
        }
        if (whole.status === 'done') {
          const declared = 16 + Buffer.concat([input, trailing]).readUInt16BE(14);
          if (whole.length !== declared) throw new Error(`claims ${whole.length} bytes, declares ${declared}`);
          if (fed.status !== 'done' || fed.length !== whole.length) throw new Error('piecewise read differs');
          // The verdict depends only on the declared bytes.
          const exact = decodeProxyHeader(Buffer.concat([input, trailing]).subarray(0, whole.length));
          if (exact.status !== 'done') throw new Error('declared bytes alone do not decode');
          stats.done++;
        } else if (whole.status === 'error') {
          if (fed.status !== 'error' || fed.code !== whole.code) throw new Error(`piecewise error ${JSON.stringify(fed)} vs ${whole.code}`);
          stats.errors++;
        }
      } catch (err) {
        throw new Error(`seed ${seed}, input ${i} (${input.toString('hex')}): ${(err as Error).message}`, { cause: err });
      }
      stats.maxMs = Math.max(stats.maxMs, performance.now() - started);
    }
    // THEN both outcomes were exercised, and no single input took long (no super-linear path).
    expect(stats.done).toBeGreaterThan(INPUTS_PER_PARSER / 20);
    expect(stats.errors).toBeGreaterThan(INPUTS_PER_PARSER / 4);
    expect(stats.maxMs).toBeLessThan(500); // a bound on parsing cost, loose enough for a loaded 2-core CI machine
  });
});

describe('fuzzing the ClientHello reader', () => {
  test(`GIVEN ${INPUTS_PER_PARSER.toLocaleString('en-US')} generated and mutated inputs THEN no throw, no hang, nothing past the input`, () => {
    const seed = 0x5eed_0002;
    const rng = prng(seed);
    const bases = Array.from({ length: 32 }, (_, i) =>
      buildClientHello({
        serverName: i % 8 === 0 ? null : `h${i}.example.com`,
        postQuantum: i % 2 === 0,
        maxRecordPayload: [16384, 700, 64, 5][i % 4],
        random: (n) => rng.bytes(n),
      }),
    );
    const stats: Budget = { maxMs: 0, done: 0, errors: 0 };
    for (let i = 0; i < INPUTS_PER_PARSER; i++) {
      const kind = rng.int(10);
      const input = kind < 1 ? rng.bytes(rng.int(400)) : kind < 2 ? Buffer.concat([Buffer.from('160301', 'hex'), rng.bytes(rng.int(600))]) : mutate(rng, bases[rng.int(bases.length)]!);
      const started = performance.now();
      try {
        const whole = parseClientHello(input);
        const reader = clientHelloReader();
        let fed: ReturnType<typeof reader.feed> = { status: 'incomplete' };
        for (const p of pieces(rng, input)) {
          fed = reader.feed(p);
          if (fed.status !== 'incomplete') break;
        }
        if (whole.status === 'done') {
          if (whole.length > input.length) throw new Error(`claims ${whole.length} of ${input.length} bytes`);
          if (whole.value.serverName !== null && !/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/.test(whole.value.serverName)) {
            throw new Error(`unclean name ${JSON.stringify(whole.value.serverName)}`);
          }
          if (fed.status !== 'done' || fed.value.serverName !== whole.value.serverName) throw new Error('piecewise read differs');
          stats.done++;
        } else if (whole.status === 'incomplete') {
          if (whole.needed <= input.length) throw new Error(`asks for ${whole.needed} with ${input.length} present`);
        } else {
          if (fed.status !== 'error' || fed.code !== whole.code) throw new Error(`piecewise error ${JSON.stringify(fed)} vs ${whole.code}`);
          stats.errors++;
        }
      } catch (err) {
        throw new Error(`seed ${seed}, input ${i} (${input.toString('hex').slice(0, 400)}…): ${(err as Error).message}`, { cause: err });
      }
      stats.maxMs = Math.max(stats.maxMs, performance.now() - started);
    }
    expect(stats.done).toBeGreaterThan(INPUTS_PER_PARSER / 20);
    expect(stats.errors).toBeGreaterThan(INPUTS_PER_PARSER / 4);
    expect(stats.maxMs).toBeLessThan(500); // a bound on parsing cost, loose enough for a loaded 2-core CI machine
  });
});
