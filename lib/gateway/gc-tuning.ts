/**
 * Garbage collection for a byte-forwarding process.
 *
 * Node.js reads each socket chunk into a fresh buffer whose memory lives outside V8's heap and is
 * freed only by a garbage collection. By default V8 answers every ~64 MB of such external memory
 * with a full mark-compact of the whole heap, so a gateway moving 300 MB/s ran about a dozen full
 * collections a second, each costing in proportion to the live heap (policy, schema, modules),
 * not to the garbage: most of the gateway's user CPU per forwarded byte (bench/RESULTS.md).
 *
 * `--external-memory-accounted-in-global-limit` (V8 13.x, Node.js 24) counts that memory in the
 * heap's global limit instead; the read buffers, dead as soon as they are written on, are then
 * freed by the cheap young-generation collection. Measured on Node.js 24: full collections during
 * bulk forwarding 13-29 → 0-1 per run, user CPU per GB forwarded −25 % to −80 %, peak RSS +40-60 MB
 * with 64 bulk connections. Node.js 20 (V8 11.3) does not have the flag; nothing is changed there.
 *
 * `LINKGATE_GC_TUNING=off` leaves V8's defaults.
 */
import { setFlagsFromString } from 'node:v8';

export const EXTERNAL_MEMORY_FLAG = '--external-memory-accounted-in-global-limit';

export type GcTuning = 'external-memory-in-global-limit' | 'off' | 'unsupported';

/** Whether this V8 has the flag: 13.x and later (Node.js 24); unknown flags only print an error. */
export function gcTuningSupported(v8Version: string = process.versions.v8): boolean {
  const major = Number(v8Version.split('.')[0]);
  return Number.isFinite(major) && major >= 13;
}

/** Applies the tuning once, early in the process (before traffic), and says what was done. */
export function tuneGarbageCollection(env: NodeJS.ProcessEnv = process.env, v8Version: string = process.versions.v8): GcTuning {
  if (env.LINKGATE_GC_TUNING === 'off') return 'off';
  if (!gcTuningSupported(v8Version)) return 'unsupported';
  setFlagsFromString(EXTERNAL_MEMORY_FLAG);
  return 'external-memory-in-global-limit';
}
