#!/usr/bin/env node
/**
 * The `linkgate` command. Contract (DESIGN.md): serve, validate, decode, simulate; plus health
 * (a probe for container HEALTHCHECKs) and schema (print the config's JSON Schema). The commands'
 * options and help text live in one table, cli-spec.ts; this file holds what each command does.
 */
import { request } from 'node:http';
import type { Cloud } from '../tenants/ids';
import { formatLocatedIssues, loadConfigFile } from '../tenants/load';
import { gatewayConfigJsonSchemaText } from '../tenants/json-schema';
import { MAX_PROXY_HEADER_BYTES, decodeProxyHeader } from './proxy-protocol/decoder';
import { parseHostPort } from './net-util';
import { resolveWorkers, serve, type ConfigSource } from './serve';
import {
  UsageError,
  commandHelp,
  commandUsage,
  generalHelp,
  isCommandName,
  packageVersion,
  parseCommand,
  type CommandName,
  type ParsedCommand,
} from './cli-spec';
import { startSimulator } from './simulate';
import { formatDoctorReport, runDoctor } from './doctor';

/** What each command does once its arguments have passed its table entry (cli-spec.ts). */
const HANDLERS: { readonly [N in CommandName]: (parsed: ParsedCommand<N>) => number | Promise<number> } = {
  serve: cmdServe,
  validate: cmdValidate,
  decode: cmdDecode,
  simulate: cmdSimulate,
  doctor: cmdDoctor,
  health: cmdHealth,
  schema: () => {
    process.stdout.write(gatewayConfigJsonSchemaText());
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      process.stderr.write(generalHelp());
      return 2;
    case 'help':
    case '--help':
    case '-h': {
      const topic = rest[0];
      if (topic === undefined) {
        process.stdout.write(generalHelp());
        return 0;
      }
      if (!isCommandName(topic)) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
      process.stdout.write(commandHelp(topic));
      return 0;
    }
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    default:
      if (!isCommandName(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
      return run(command, rest);
  }
}

function run<N extends CommandName>(name: N, args: string[]): number | Promise<number> {
  const parsed = parseCommand(name, args);
  if (parsed.help) {
    process.stdout.write(commandHelp(name));
    return 0;
  }
  return (HANDLERS[name] as (p: ParsedCommand<N>) => number | Promise<number>)(parsed);
}

async function cmdServe({ values }: ParsedCommand<'serve'>): Promise<number> {
  // --config wins; then an inline $LINKGATE_CONFIG (set per deployment, e.g. an ECS task); then
  // $LINKGATE_CONFIG_FILE, which the image sets to a default path.
  let source: ConfigSource;
  if (values.config) source = { kind: 'file', path: values.config };
  else if (process.env.LINKGATE_CONFIG) source = { kind: 'env', name: 'LINKGATE_CONFIG' };
  else if (process.env.LINKGATE_CONFIG_FILE) source = { kind: 'file', path: process.env.LINKGATE_CONFIG_FILE };
  else throw new UsageError('serve needs --config FILE (or $LINKGATE_CONFIG, or $LINKGATE_CONFIG_FILE)', 'serve');
  const workers = resolveWorkers(values.workers ?? process.env.LINKGATE_WORKERS);
  await serve({ source, workers });
  return -1; // keeps running
}

function cmdValidate({ values, positionals }: ParsedCommand<'validate'>): number {
  const file = positionals[0]!;
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

function cmdDecode({ positionals }: ParsedCommand<'decode'>): number {
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

async function cmdSimulate({ values }: ParsedCommand<'simulate'>): Promise<number> {
  // parseCommand checked that every option is there and --cloud is one of CLOUDS.
  const cloud = values.cloud as Cloud;
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

async function cmdDoctor({ values, positionals }: ParsedCommand<'doctor'>): Promise<number> {
  const port = values.port === undefined ? 443 : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port must be a port number (1-65535), got ${JSON.stringify(values.port)}`, 'doctor');
  const hostname = positionals[0]!;
  // A name as DNS and SNI take it (an address literal too: it is then only classified).
  if (hostname.length > 253 || !/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/.test(hostname)) {
    throw new UsageError(`HOSTNAME must be a DNS name such as megacorp.api.example.com, got ${JSON.stringify(hostname)}`, 'doctor');
  }
  const report = await runDoctor({
    hostname,
    port,
    connect: values.connect === undefined ? undefined : parseHostPort(values.connect, '--connect'),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
  return report.exitCode;
}

function cmdHealth({ values }: ParsedCommand<'health'>): Promise<number> {
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
      if (err instanceof UsageError) {
        // A command's mistake shows that command's synopsis; an unknown command, the list.
        const hint = err.command
          ? `usage: ${commandUsage(err.command)}\n(linkgate ${err.command} --help for its options)\n`
          : generalHelp();
        process.stderr.write(`linkgate: ${err.message}\n\n${hint}`);
        process.exitCode = 2;
      } else {
        const e = err as Error;
        process.stderr.write(`linkgate: ${process.env.LINKGATE_DEBUG ? (e.stack ?? e.message) : e.message}\n`);
        process.exitCode = 1;
      }
    },
  );
}
