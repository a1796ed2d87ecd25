/**
 * The resilience suite runs short inside `npm test` and in full with `npm run test:resilience`
 * (LINKGATE_RESILIENCE=full). Every scenario drives the built gateway as a real process, with the
 * benchmark's load generator in processes of its own.
 */
export const FULL = process.env.LINKGATE_RESILIENCE === 'full';

/** Picks the full-mode or short-mode figure. */
export const size = <T>(full: T, short: T): T => (FULL ? full : short);
