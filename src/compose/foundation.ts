import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pino, type Logger } from 'pino';
import type { Config } from '../config.ts';
import { loadCatalog, type Catalog } from '../domain/catalog.ts';
import type { Links } from '../domain/task-view.ts';
import type { BlobStore } from '../infra/blob/blob-store.ts';
import { localBlobStore } from '../infra/blob/local-blob-store.ts';
import { linkSigner } from '../infra/blob/signed-links.ts';
import { createScratch, type Scratch } from '../infra/scratch.ts';
import type { LookupFn } from '../infra/net/safe-fetch.ts';
import { openStore, type Store } from '../store.ts';
import { publicUrl, type PublicUrl } from './public-url.ts';

export interface ReelayOverrides {
  logger?: Logger;
  now?: () => number;
  /** Injected DNS for image and callback URLs (tests). */
  lookup?: LookupFn;
  /** TEST SEAM ONLY: which addresses count as public for outbound calls (see safeFetch). */
  isAllowedAddress?: (ip: string) => boolean;
  /** TEST SEAM ONLY: wrap the blob store (fault injection, e.g. a full disk). */
  wrapBlobs?: (blobs: BlobStore) => BlobStore;
}

/** The SSRF policy for every URL Reelay fetches on someone else's word (image URLs, callbacks, upstream result links). */
export interface Outbound {
  allowPrivate: boolean;
  lookup?: LookupFn;
  isAllowedAddress?: (ip: string) => boolean;
}

/** What every role needs: logs, the clock, the database, the catalog, blobs and public links. */
export interface Foundation {
  config: Config;
  log: Logger;
  now: () => number;
  store: Store;
  catalog: Catalog;
  blobs: BlobStore;
  signer: ReturnType<typeof linkSigner>;
  links: Links;
  publicUrl: PublicUrl;
  outbound: Outbound;
  /**
   * This process's own folder in the temp directory: renders and downloads on worker nodes, spooled
   * multipart uploads on every node. Its sweep removes what killed processes left there.
   */
  scratch: Scratch;
}

export function buildLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers["x-goog-api-key"]'],
    // Public links carry their signature in the query string: keep it out of the logs.
    serializers: { req: (req: { method?: string; url?: string; id?: string }) => ({ id: req.id, method: req.method, url: req.url?.replace(/([?&]sig=)[^&]*/g, '$1[redacted]') }) },
  });
}

export async function buildFoundation(config: Config, o: ReelayOverrides): Promise<Foundation> {
  const log = o.logger ?? buildLogger(config);
  const now = o.now ?? Date.now;
  const store = await openStore(config);
  const catalog = loadCatalog(config.catalogFile ? JSON.parse(await readFile(config.catalogFile, 'utf8')) : undefined);
  // The S3 client is loaded only when configured: a server that keeps its blobs on disk carried ~2.5 MB of it
  // in a live heap of ~37 MB, which every major GC marks again.
  const base: BlobStore = config.blobStore.kind === 's3'
    ? (await import('../infra/blob/s3-blob-store.ts')).s3BlobStore({ ...config.blobStore, now })
    : localBlobStore(config.blobDir);
  const blobs = o.wrapBlobs ? o.wrapBlobs(base) : base;
  const secret = config.urlSigningSecret ?? await store.meta.getOrInit('url_signing_secret', () => randomBytes(32).toString('base64url'));
  const signer = linkSigner(secret, '');
  const url = publicUrl(config.publicUrl, config.host, config.port);
  const links: Links = {
    blobUrl: async (key, exp) => (await blobs.publicUrl(key, exp)) ?? `${url.get()}${signer.blobUrl(key, exp)}`,
  };
  const outbound: Outbound = {
    allowPrivate: config.allowPrivateUrls,
    ...(o.lookup ? { lookup: o.lookup } : {}),
    ...(o.isAllowedAddress ? { isAllowedAddress: o.isAllowedAddress } : {}),
  };
  const scratch = createScratch({ base: tmpdir(), tasks: store.tasks, log: log.child({ component: 'scratch' }) });
  return { config, log, now, store, catalog, blobs, signer, links, publicUrl: url, outbound, scratch };
}
