/** What every object-store fetcher gives the poller. */

export type FetchOutcome =
  /** A new document (or the first): its bytes and the validator to send next time. */
  | {
      readonly status: 'changed';
      readonly bytes: Buffer;
      readonly validator: string | null;
    }
  /** 304: the document is the one fetched last time. */
  | { readonly status: 'unchanged' };

export interface ConfigFetcher {
  /** Where the config comes from, for logs (never carries a credential). */
  readonly describe: string;
  /**
   * One conditional GET. `validator` is what the last 'changed' outcome returned (an ETag or a
   * generation); null fetches unconditionally. Throws an Error saying what failed.
   */
  fetch(validator: string | null, signal: AbortSignal): Promise<FetchOutcome>;
}

/** Objects larger than this are refused before they are read (as files are: tenants/load.ts). */
export { MAX_CONFIG_BYTES } from '../../tenants/load';

/** One fetch, token included, must finish within this. */
export const FETCH_TIMEOUT_MS = 60_000;
