/**
 * The `linkgate` commands and their options, declared once. Help, option checking and the README
 * test (test/gateway/cli.test.ts) all read this table, so they cannot drift apart. Pure data and
 * text: no gateway code is loaded to print help or reject an option.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLOUDS } from '../tenants/ids';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder for the value in help, e.g. FILE. */
  readonly value?: string;
  readonly description: string;
  /** The command refuses to run without it (a usage error, exit 2). */
  readonly required?: boolean;
  /** The only values accepted. */
  readonly choices?: readonly string[];
}

export interface CommandSpec {
  /** Positional arguments as shown in usage, e.g. "FILE"; absent when the command takes none. */
  readonly args?: string;
  readonly minArgs?: number;
  /** Default: minArgs (exactly that many). */
  readonly maxArgs?: number;
  /** One line, shown in the command list and at the top of the command's help. */
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Further help lines (environment variables, exit codes). */
  readonly notes?: readonly string[];
}

export const COMMANDS = {
  serve: {
    summary: 'run the gateway (a cluster of workers, one per core by default)',
    options: {
      config: { type: 'string', short: 'c', value: 'FILE', description: 'the config file (YAML or JSON); reloaded when it changes and on SIGHUP' },
      workers: { type: 'string', short: 'w', value: 'N|auto', description: 'number of worker processes (default: auto, one per core)' },
    },
    notes: [
      'without --config: the config inline in $LINKGATE_CONFIG (JSON, YAML or gzip+base64:...),',
      'else the file named by $LINKGATE_CONFIG_FILE; workers from $LINKGATE_WORKERS',
    ],
  },
  validate: {
    args: 'FILE',
    minArgs: 1,
    summary: 'check a config file: exit 0, or 1 with every error, its path and line',
    options: {
      json: { type: 'boolean', description: 'print the result (and every issue) as JSON on stdout' },
    },
  },
  decode: {
    args: 'HEX...',
    minArgs: 1,
    maxArgs: Infinity,
    summary: 'decode one PROXY v2 header and print it as JSON',
    options: {},
    notes: [
      'HEX may be split over several arguments and contain spaces, colons or a 0x prefix;',
      'exit 1 when it is not a PROXY v2 header or its CRC32C is invalid',
    ],
  },
  simulate: {
    summary: "stand in for a cloud's Private Link edge: prepend the PROXY v2 header it would write",
    options: {
      cloud: { type: 'string', value: CLOUDS.join('|'), choices: CLOUDS, required: true, description: 'the cloud whose header to write' },
      'link-id': { type: 'string', value: 'ID', required: true, description: 'the link ID to put in it (VPC endpoint ID, LinkID or PSC connection ID)' },
      listen: { type: 'string', value: 'HOST:PORT', required: true, description: 'where clients connect' },
      to: { type: 'string', value: 'HOST:PORT', required: true, description: "the gateway's private-link listener" },
    },
  },
  doctor: {
    args: 'HOSTNAME',
    minArgs: 1,
    summary: 'for a customer: check that HOSTNAME is served through your private endpoint, and show its link ID',
    options: {
      port: { type: 'string', value: 'N', description: 'port of the endpoint (default 443)' },
      connect: { type: 'string', value: 'HOST:PORT', description: 'skip DNS and connect here (one endpoint address, or a simulator)' },
      json: { type: 'boolean', description: 'print the report as JSON on stdout' },
    },
    notes: [
      'run it from the network that uses the endpoint; the provider must set diagnostics.enabled for',
      'the link ID, tenant and verdict to be shown (without it, the doctor tells forwarded from dropped)',
      'exit codes: 0 served; 3 the name does not resolve; 4 it resolves to a public address (private',
      'DNS missing); 5 cannot connect; 6 no diagnostic answer; 7 link ID not allowed; 8 hostname unknown',
      'to the gateway; 9 dropped for another reason; 10 diagnostics rate limit; 1 error; 2 usage',
    ],
  },
  health: {
    summary: "probe a running gateway's health listener (for a container HEALTHCHECK)",
    options: {
      port: { type: 'string', value: 'N', description: 'health listener port (default: $LINKGATE_HEALTH_PORT, else 8080)' },
      host: { type: 'string', value: 'HOST', description: 'health listener address (default: 127.0.0.1)' },
      path: { type: 'string', value: 'PATH', description: 'path to probe (default: /healthz)' },
    },
    notes: ['exit 0 when the listener answers 200, else 1'],
  },
  schema: {
    summary: "print the config file's JSON Schema",
    options: {},
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** Accepted by every command; not listed per command in the table. */
const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'print this help' };

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** A mistake in how the command was called: exit 2 and point at the help. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to show; undefined: the command list. */
    readonly command?: CommandName,
  ) {
    super(message);
  }
}

function optionsOf(name: CommandName): Readonly<Record<string, OptionSpec>> {
  return { ...(COMMANDS[name] as CommandSpec).options, help: HELP_OPTION };
}

function flag(name: string, o: OptionSpec): string {
  return o.value ? `--${name} ${o.value}` : `--${name}`;
}

/** The one-line synopsis: `linkgate serve [--config FILE] [--workers N|auto]`. */
export function commandUsage(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const parts = [`linkgate ${name}`];
  if (spec.args) parts.push(spec.args);
  for (const [opt, o] of Object.entries(spec.options)) parts.push(o.required ? flag(opt, o) : `[${flag(opt, o)}]`);
  return parts.join(' ');
}

export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const rows = Object.entries(optionsOf(name)).map(([opt, o]) => [`${o.short ? `-${o.short}, ` : '    '}${flag(opt, o)}`, o.description] as const);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = [
    `usage: ${commandUsage(name)}`,
    '',
    spec.summary,
    '',
    'options:',
    ...rows.map(([left, text]) => `  ${left.padEnd(width)}${text}`),
  ];
  if (spec.notes) lines.push('', ...spec.notes);
  return `${lines.join('\n')}\n`;
}

export function generalHelp(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return [
    'usage: linkgate <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n].summary}`),
    '',
    'linkgate <command> --help     the command\'s options (also: linkgate help <command>)',
    'linkgate --version            print the version',
    '',
  ].join('\n');
}

/** A required option is a string (parseCommand refuses to go on without it); others may be absent. */
type OptionValues<O> = {
  readonly [K in keyof O]: O[K] extends { type: 'boolean' } ? boolean | undefined : O[K] extends { required: true } ? string : string | undefined;
};

export interface ParsedCommand<N extends CommandName> {
  readonly values: OptionValues<(typeof COMMANDS)[N]['options']>;
  readonly positionals: string[];
  /** --help or -h was given: print the help and run nothing else. */
  readonly help: boolean;
}

/**
 * Parses a command's arguments against its table entry. Every mistake is a UsageError that says
 * what is wrong in the user's terms: an unknown option names the valid ones.
 */
export function parseCommand<N extends CommandName>(name: N, args: readonly string[]): ParsedCommand<N> {
  const options = optionsOf(name);
  const config = Object.fromEntries(
    Object.entries(options).map(([opt, o]) => [opt, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
  );
  // A lenient pass first, to see every token: --help wins over other mistakes, and an unknown
  // option gets our message instead of parseArgs' generic one.
  const { tokens } = parseArgs({ args: [...args], options: config, strict: false, allowPositionals: true, tokens: true });
  const optionTokens = tokens.filter((t) => t.kind === 'option');
  if (optionTokens.some((t) => t.name === 'help')) return { values: {} as ParsedCommand<N>['values'], positionals: [], help: true };
  const unknown = optionTokens.find((t) => !Object.hasOwn(options, t.name));
  if (unknown) {
    const valid = Object.keys(options).map((o) => `--${o}`).join(', ');
    throw new UsageError(`unknown option ${unknown.rawName} for '${name}'; valid: ${valid}`, name);
  }
  for (const t of optionTokens) {
    const o = options[t.name]!;
    if (o.type === 'string' && t.value === undefined) throw new UsageError(`${t.rawName} needs a value: ${flag(t.name, o)}`, name);
    if (o.type === 'boolean' && t.value !== undefined) throw new UsageError(`${t.rawName} takes no value`, name);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: config, strict: true, allowPositionals: true });
  } catch (err) {
    // What the checks above leave: e.g. an option's value that looks like an option.
    throw new UsageError(`${name}: ${(err as Error).message}`, name);
  }
  const spec: CommandSpec = COMMANDS[name];
  const min = spec.minArgs ?? 0;
  const max = spec.maxArgs ?? min;
  const got = parsed.positionals.length;
  if (got < min || got > max) {
    const expected = max === 0 ? 'no arguments' : spec.args!;
    throw new UsageError(
      got > max ? `${name} takes ${expected}, got unexpected ${JSON.stringify(parsed.positionals[max])}` : `${name} needs ${expected}`,
      name,
    );
  }
  for (const [opt, o] of Object.entries(options)) {
    const value = parsed.values[opt];
    if (o.choices && typeof value === 'string' && !o.choices.includes(value)) {
      throw new UsageError(`--${opt} must be one of ${o.choices.join(', ')}, got ${JSON.stringify(value)}`, name);
    }
  }
  const missing = Object.entries(options).filter(([opt, o]) => o.required && parsed.values[opt] === undefined);
  if (missing.length > 0) throw new UsageError(`${name} needs ${missing.map(([opt, o]) => flag(opt, o)).join(' ')}`, name);
  return { values: parsed.values as ParsedCommand<N>['values'], positionals: parsed.positionals, help: false };
}

/**
 * The package's version: the nearest package.json named linkgate above this file, which holds
 * from the repository (lib/ via tsx, dist/), an installed package and the image (/app).
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'linkgate' && pkg.version) return pkg.version;
    } catch {
      // no (readable) package.json here: keep walking up
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of linkgate above ${from}`);
  }
}
