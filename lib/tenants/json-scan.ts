/**
 * What `JSON.parse` hides, found in one pass over text it has already accepted: a key written twice
 * in one object (JSON.parse keeps the last, so `"allow": {...}, "allow": {}` would silently drop the
 * rules), and integers it rounds (above 2^53, e.g. a GCP PSC connection ID written unquoted).
 *
 * The text is valid JSON (JSON.parse said so), so the scan needs no error handling of its own: it
 * only tracks where it is (a stack of the keys and indexes leading to the current value). Linear
 * in the text's length, one Set of keys per open object.
 */

export interface JsonDuplicateKey {
  /** Keys and indexes to the object holding the key, then the key itself. */
  readonly path: (string | number)[];
  readonly key: string;
  /** 1-based line and column of the second occurrence, and the line of the first. */
  readonly line: number;
  readonly column: number;
  readonly firstLine: number;
}

export interface JsonUnsafeInteger {
  readonly path: (string | number)[];
  /** The digits as written. */
  readonly text: string;
}

export interface JsonScan {
  readonly duplicates: JsonDuplicateKey[];
  readonly unsafeIntegers: JsonUnsafeInteger[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;

interface Frame {
  /** Keys seen so far and where each was first written; null for an array. */
  readonly keys: KeySet | null;
  /** Index of the current element (arrays) or the current key (objects), for paths. */
  at: string | number;
  /** Objects: the next string is a key. */
  expectKey: boolean;
}

/** Scans JSON text that `JSON.parse` accepted. */
export function scanJson(text: string): JsonScan {
  const duplicates: { path: (string | number)[]; key: string; offset: number; firstOffset: number }[] = [];
  const unsafeIntegers: JsonUnsafeInteger[] = [];
  const stack: Frame[] = [];
  const path = () => stack.map((f) => f.at);
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, end);
        // Escapes name the same key differently ("\u0061llow" is "allow"): compare decoded keys.
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const first = top.keys.add(key, i);
        if (first !== undefined) duplicates.push({ path: path().slice(0, -1), key, offset: i, firstOffset: first });
        top.at = key;
        top.expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === MINUS || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      let integer = true;
      for (; end < n; end++) {
        const d = text.charCodeAt(end);
        if (d >= 0x30 && d <= 0x39) continue;
        if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === MINUS) integer = false;
        else break;
      }
      // Up to 15 digits always fit a double exactly; longer ones are checked.
      if (integer && end - i > 15 && !Number.isSafeInteger(Number(text.slice(i, end)))) {
        unsafeIntegers.push({ path: path(), text: text.slice(i, end) });
      }
      i = end;
      continue;
    }
    switch (c) {
      case 0x7b: // {
        stack.push({ keys: new KeySet(), at: '', expectKey: true });
        break;
      case 0x5b: // [
        stack.push({ keys: null, at: 0, expectKey: false });
        break;
      case 0x7d: // }
      case 0x5d: // ]
        stack.pop();
        break;
      case 0x2c: {
        // ,
        const top = stack[stack.length - 1]!;
        if (top.keys) top.expectKey = true;
        else (top.at as number)++;
        break;
      }
      default:
        break; // whitespace, ':', true, false, null
    }
    i++;
  }
  return { duplicates: locate(text, duplicates), unsafeIntegers };
}

/**
 * The keys of one object. Config objects have a handful of keys, and a file of 100,000 tenants has
 * 200,000 of them: a list searched in place is cheaper than a Map each, up to a size.
 */
class KeySet {
  private readonly keys: string[] = [];
  private readonly offsets: number[] = [];
  private map: Map<string, number> | null = null;

  /** Adds the key; returns where it was first written when it was already there. */
  add(key: string, offset: number): number | undefined {
    if (this.map) {
      const first = this.map.get(key);
      if (first === undefined) this.map.set(key, offset);
      return first;
    }
    const at = this.keys.indexOf(key);
    if (at >= 0) return this.offsets[at];
    this.keys.push(key);
    this.offsets.push(offset);
    if (this.keys.length > 16) this.map = new Map(this.keys.map((k, n) => [k, this.offsets[n]!]));
    return undefined;
  }
}

/** Offset of the closing quote of the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let q = text.indexOf('"', start + 1);
  for (;;) {
    // A quote preceded by an odd number of backslashes is escaped.
    let b = q - 1;
    while (text.charCodeAt(b) === BACKSLASH) b--;
    if ((q - 1 - b) % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
}

/** Line and column of each duplicate, counting newlines once for all of them (offsets ascend). */
function locate(
  text: string,
  found: readonly { path: (string | number)[]; key: string; offset: number; firstOffset: number }[],
): JsonDuplicateKey[] {
  if (found.length === 0) return [];
  const lineStarts = [0];
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) lineStarts.push(nl + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  return found.map((d) => {
    const line = lineOf(d.offset);
    return {
      path: [...d.path, d.key],
      key: d.key,
      line: line + 1,
      column: d.offset - lineStarts[line]! + 1,
      firstLine: lineOf(d.firstOffset) + 1,
    };
  });
}
