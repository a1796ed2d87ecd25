/**
 * Debian's HAProxy in the foreground with a generated config, its log lines on stdout: the same
 * starter the benchmark uses, so the peer tests and the bench run HAProxy the same way.
 */
export { startHAProxy, type Proc as HAProxy } from '../../bench/harness';
