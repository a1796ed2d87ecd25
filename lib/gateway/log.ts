/**
 * JSON lines on stdout: one per decision, plus lifecycle events, written in batches (LineWriter)
 * so that logging stays off the per-connection cost at high rates.
 * Drop lines are rate-limited so that an attack cannot flood the log; metrics still count them.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export type LogSink = (text: string) => void;

export interface LoggerOptions {
  /** Where joined lines go. Default: process.stdout. */
  readonly sink?: LogSink;
  /** Fields added to every line (e.g. worker id). */
  readonly base?: LogFields;
  /** Lines below this level are discarded. Default info. */
  readonly level?: LogLevel;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Gathers lines and writes them together: when 32 KiB are waiting or 25 ms after the first one.
 * At thousands of decisions per second this turns one write per line into a few per second; the
 * cost is that a line may appear up to 25 ms late. Shared by a logger and its children.
 */
class LineWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sink: LogSink) {}

  push(line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) this.timer = setTimeout(this.flush, FLUSH_AFTER_MS);
  }

  readonly flush = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.sink(text);
  };
}

const FLUSH_BYTES = 32 * 1024;
const FLUSH_AFTER_MS = 25;

export class Logger {
  private readonly writer: LineWriter;
  /** Pre-serialized base fields, with a leading comma when non-empty. */
  private readonly base: string;
  private readonly minLevel: number;

  constructor(options: LoggerOptions = {}) {
    this.writer = new LineWriter(options.sink ?? ((text) => process.stdout.write(text)));
    const base = options.base ? JSON.stringify(options.base, bigintSafe).slice(1, -1) : '';
    this.base = base ? `,${base}` : '';
    this.minLevel = LEVELS[options.level ?? 'info'];
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVELS[level] < this.minLevel) return;
    const extra = fields ? serializeFields(fields) : '';
    this.writer.push(`{"time":"${isoNow()}","level":"${level}","msg":${JSON.stringify(msg)}${this.base}${extra ? `,${extra}` : ''}}\n`);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  /** Writes everything pending now (also before exit). */
  flush(): void {
    this.writer.flush();
  }
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * The fields as JSON without their braces. A replacer takes JSON.stringify off its fast path (it
 * doubled the cost of a decision line), so it is used only for the rare fields with a bigint.
 */
function serializeFields(fields: LogFields): string {
  try {
    return JSON.stringify(fields).slice(1, -1);
  } catch {
    return JSON.stringify(fields, bigintSafe).slice(1, -1);
  }
}

let isoSecond = -1;
let isoPrefix = '';

/** `new Date().toISOString()`, with the part up to the second formatted once per second. */
function isoNow(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20); // "2026-11-30T10:33:22."
  }
  const ms = now - second * 1000;
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/**
 * Token bucket, refilled each second: at most `perSecond` drop lines; the rest are counted and
 * reported once a second in one summary line.
 */
export class DropLogLimiter {
  private tokens: number;
  private suppressed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly onSummary: (suppressed: Record<string, number>, total: number) => void,
  ) {
    this.tokens = perSecond;
  }

  /** True when the caller may write the line; otherwise the drop is tallied under `reason`. */
  take(reason: string): boolean {
    this.arm();
    if (this.tokens > 0) {
      this.tokens--;
      return true;
    }
    this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
    return false;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(this.tick, 1000);
    this.timer.unref();
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    this.tokens = this.perSecond;
    if (this.suppressed.size === 0) return;
    const byReason = Object.fromEntries(this.suppressed);
    let total = 0;
    for (const n of this.suppressed.values()) total += n;
    this.suppressed = new Map();
    this.onSummary(byReason, total);
  };

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
