#!/usr/bin/env node
/**
 * The `linkgate` command. Contract (DESIGN.md): serve, validate, decode, simulate; plus health
 * (a probe for container HEALTHCHECKs) and schema (print the config's JSON Schema).
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { CLOUDS, type Cloud } from '../tenants/ids';
import { formatLocatedIssues, loadConfigFile } from '../tenants/load';
import { gatewayConfigJsonSchemaText } from '../tenants/json-schema';
import { MAX_PROXY_HEADER_BYTES, decodeProxyHeader } from './proxy-protocol/decoder';
import { parseHostPort } from './net-util';
import { resolveWorkers, serve, type ConfigSource } from './serve';
import { startSimulator } from './simulate';

const USAGE = `usage: linkgate <command> [options]

commands:
  serve --config FILE [--workers N|auto]
        run the gateway (without --config: inline from $LINKGATE_CONFIG as JSON, YAML or
        gzip+base64:..., else the file in $LINKGATE_CONFIG_FILE; workers from $LINKGATE_WORKERS)
  validate FILE [--json]
        check a config file: exit 0, or 1 with every error and where it is
  decode HEX
        decode one PROXY v2 header and print it as JSON
  simulate --cloud aws|azure|gcp --link-id ID --listen HOST:PORT --to HOST:PORT
        stand in for a cloud's Private Link edge: prepend the PROXY v2 header it would write
  health [--port N] [--host H] [--path /healthz]
        probe a running gateway's health listener (for container HEALTHCHECK)
  schema
        print the config file's JSON Schema
`;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return cmdServe(rest);
    case 'validate':
      return cmdValidate(rest);
    case 'decode':
      return cmdDecode(rest);
    case 'simulate':
      return cmdSimulate(rest);
    case 'health':
      return cmdHealth(rest);
    case 'schema':
      process.stdout.write(gatewayConfigJsonSchemaText());
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

async function cmdServe(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, workers: { type: 'string', short: 'w' } },
    strict: true,
  });
  // --config wins; then an inline $LINKGATE_CONFIG (set per deployment, e.g. an ECS task); then
  // $LINKGATE_CONFIG_FILE, which the image sets to a default path.
  let source: ConfigSource;
  if (values.config) source = { kind: 'file', path: values.config };
  else if (process.env.LINKGATE_CONFIG) source = { kind: 'env', name: 'LINKGATE_CONFIG' };
  else if (process.env.LINKGATE_CONFIG_FILE) source = { kind: 'file', path: process.env.LINKGATE_CONFIG_FILE };
  else throw new UsageError('serve needs --config FILE (or $LINKGATE_CONFIG, or $LINKGATE_CONFIG_FILE)');
  const workers = resolveWorkers(values.workers ?? process.env.LINKGATE_WORKERS);
  await serve({ source, workers });
  return -1; // keeps running
}

function cmdValidate(args: string[]): number {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('validate takes one FILE');
  const result = loadConfigFile(file);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result.ok ? { valid: true, tenants: result.value.tenants.length } : { valid: false, issues: result.issues }, null, 2)}\n`);
    return result.ok ? 0 : 1;
  }
  if (result.ok) {
    process.stdout.write(`${file}: valid (${result.value.tenants.length} tenants)\n`);
    return 0;
  }
  process.stderr.write(`${formatLocatedIssues(result.issues, file)}\n${file}: ${result.issues.length} error(s)\n`);
  return 1;
}

function cmdDecode(args: string[]): number {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  if (positionals.length === 0) throw new UsageError('decode takes a HEX string');
  const text = positionals.join('').replace(/[\s:]/g, '').replace(/^0x/i, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
    process.stderr.write('linkgate decode: input is not hex (expected pairs of 0-9a-f)\n');
    return 1;
  }
  const bytes = Buffer.from(text, 'hex');
  const result = decodeProxyHeader(bytes, { verifyCrc: false, maxHeaderBytes: MAX_PROXY_HEADER_BYTES });
  if (result.status === 'incomplete') {
    process.stderr.write(`linkgate decode: truncated header: ${bytes.length} bytes given, at least ${result.needed} needed\n`);
    return 1;
  }
  if (result.status === 'error') {
    process.stderr.write(`linkgate decode: ${result.code}: ${result.message}\n`);
    return 1;
  }
  const h = result.value;
  const out = {
    version: h.version,
    command: h.command,
    family: h.family,
    transport: h.transport,
    source: h.source,
    destination: h.destination,
    tlvs: h.tlvs.map((t) => ({ type: `0x${t.type.toString(16).padStart(2, '0')}`, length: t.value.length, value: t.value.toString('hex') })),
    cloud: h.link?.cloud ?? null,
    linkId: h.link?.linkId ?? null,
    authority: h.authority,
    crc32c: h.crc32c,
    length: h.length,
    trailingBytes: bytes.length - h.length,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return h.crc32c === 'invalid' ? 1 : 0;
}

async function cmdSimulate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cloud: { type: 'string' },
      'link-id': { type: 'string' },
      listen: { type: 'string' },
      to: { type: 'string' },
    },
    strict: true,
  });
  const cloud = values.cloud as Cloud | undefined;
  if (!cloud || !CLOUDS.includes(cloud)) throw new UsageError(`--cloud must be one of ${CLOUDS.join(', ')}`);
  if (!values['link-id']) throw new UsageError('--link-id is required');
  if (!values.listen || !values.to) throw new UsageError('--listen HOST:PORT and --to HOST:PORT are required');
  const sim = await startSimulator({
    cloud,
    linkId: values['link-id'],
    listen: parseHostPort(values.listen, '--listen'),
    to: parseHostPort(values.to, '--to'),
  });
  process.stdout.write(
    `${JSON.stringify({ msg: 'simulating', cloud, linkId: values['link-id'], listen: `${sim.address.address}:${sim.address.port}`, to: values.to })}\n`,
  );
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return -1;
}

function cmdHealth(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' }, path: { type: 'string' } },
    strict: true,
  });
  const port = Number(values.port ?? process.env.LINKGATE_HEALTH_PORT ?? 8080);
  return new Promise((resolve) => {
    const req = request(
      { host: values.host ?? '127.0.0.1', port, path: values.path ?? '/healthz', timeout: 3000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? 0 : 1);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => {
      process.stderr.write(`linkgate health: ${err.message}\n`);
      resolve(1);
    });
    req.end();
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
        process.stderr.write(`linkgate: ${(err as Error).message}\n\n${USAGE}`);
        process.exitCode = 2;
      } else {
        const e = err as Error;
        process.stderr.write(`linkgate: ${process.env.LINKGATE_DEBUG ? (e.stack ?? e.message) : e.message}\n`);
        process.exitCode = 1;
      }
    },
  );
}
