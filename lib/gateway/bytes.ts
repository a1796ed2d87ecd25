/**
 * Incremental parsing over TCP reads. Parsers here are pure functions of "all bytes so far" that
 * answer: need at least N bytes in total, done, or an error code. The accumulator stores reads
 * without copying and only joins them when the parser's declared need is met, so a client that
 * sends one byte at a time costs O(n), not O(n²).
 */

export type ParseStep<T, E extends string> =
  | { readonly status: 'incomplete'; /** total bytes needed before the parser can progress */ readonly needed: number }
  | { readonly status: 'done'; readonly value: T; /** bytes the parsed item occupies */ readonly length: number }
  | { readonly status: 'error'; readonly code: E; readonly message: string };

export type ParseFn<T, E extends string> = (bytes: Buffer) => ParseStep<T, E>;

export type FeedResult<T, E extends string> =
  | { readonly status: 'incomplete' }
  | { readonly status: 'done'; readonly value: T; readonly length: number; /** every byte fed so far */ readonly bytes: Buffer }
  | { readonly status: 'error'; readonly code: E; readonly message: string };

export const INCOMPLETE = Object.freeze({ status: 'incomplete' as const });

/** A parse of one whole read as a reader would report it (`bytes` is that read). */
export function settledStep<T, E extends string>(step: Exclude<ParseStep<T, E>, { status: 'incomplete' }>, chunk: Buffer): FeedResult<T, E> {
  return step.status === 'done' ? { status: 'done', value: step.value, length: step.length, bytes: chunk } : step;
}

export class IncrementalReader<T, E extends string> {
  private chunks: Buffer[] = [];
  private total = 0;
  private needed = 1;
  private settled = false;

  constructor(
    private readonly parse: ParseFn<T, E>,
    /** Hard bound on buffered bytes; the parser should refuse earlier with its own code. */
    private readonly maxBytes: number,
    private readonly overflowCode: E,
  ) {}

  /**
   * Starts from a first read the parser already saw and answered "need `needed` bytes": it is
   * kept without being parsed again, and the next feed parses once that many bytes are in.
   */
  startWith(chunk: Buffer, needed: number): this {
    this.chunks.push(chunk);
    this.total += chunk.length;
    this.needed = Math.min(Math.max(needed, this.total + 1), this.maxBytes);
    return this;
  }

  /** Every byte fed so far, joined (joins at most once per call that needs it). */
  bytes(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.total)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  feed(chunk: Buffer): FeedResult<T, E> {
    if (this.settled) throw new Error('IncrementalReader: feed after a result');
    this.chunks.push(chunk);
    this.total += chunk.length;
    if (this.total < this.needed) return INCOMPLETE;
    const all = this.bytes();
    const step = this.parse(all);
    if (step.status === 'incomplete') {
      if (step.needed > this.maxBytes || this.total >= this.maxBytes) {
        this.settled = true;
        return {
          status: 'error',
          code: this.overflowCode,
          message: `more than ${this.maxBytes} bytes buffered without a complete item`,
        };
      }
      this.needed = Math.max(step.needed, this.total + 1);
      return INCOMPLETE;
    }
    this.settled = true;
    if (step.status === 'error') return step;
    return { status: 'done', value: step.value, length: step.length, bytes: all };
  }
}
