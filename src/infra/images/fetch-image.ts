import { FetchFailedError, UnsafeUrlError, safeFetch, type LookupFn } from '../net/safe-fetch.ts';
import { ImageRejected } from './image-rejected.ts';

export interface ImageFetchOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  maxBytes: number;
  lookup?: LookupFn;
  /** TEST SEAM ONLY (see safeFetch): which addresses count as public. */
  isAllowedAddress?: (ip: string) => boolean;
}

/** Fetch a user's image URL through the SSRF guard; a refused or failed fetch is ImageRejected, naming the image. */
export function imageFetcher(opts: ImageFetchOptions) {
  return async (url: string, param: string): Promise<Buffer> => {
    try {
      const res = await safeFetch(url, {
        allowPrivate: opts.allowPrivate, timeoutMs: opts.timeoutMs, maxBytes: opts.maxBytes,
        label: 'image URL', ...(opts.lookup ? { lookup: opts.lookup } : {}),
        ...(opts.isAllowedAddress ? { isAllowedAddress: opts.isAllowedAddress } : {}),
      });
      return res.body;
    } catch (e) {
      if (e instanceof UnsafeUrlError || e instanceof FetchFailedError) {
        const code = e instanceof UnsafeUrlError ? 'image_url_not_allowed' : 'image_fetch_failed';
        throw new ImageRejected(code, `"${param}": ${e.message}.`.replace(/\.\.$/, '.'), param, { cause: e });
      }
      throw e;
    }
  };
}
