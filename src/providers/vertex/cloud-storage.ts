import { failure } from '../../domain/failures.ts';
import { downloadFromUpstream, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { DownloadOutcome } from '../upstream/upstream-provider.ts';

export const DEFAULT_STORAGE_BASE_URL = 'https://storage.googleapis.com';

export interface GsObject { bucket: string; object: string }

// Cloud Storage naming rules: 3–222 lowercase letters, digits, dots, dashes
// and underscores, starting and ending with a letter or digit.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * `gs://BUCKET/OBJECT` → its parts, or null when it is not one Reelay will
 * fetch. The object name is sent percent-encoded as one path segment, so
 * slashes and dots in it cannot move the request elsewhere; names Cloud
 * Storage itself forbids are refused anyway.
 */
export function parseGsUri(uri: string): GsObject | null {
  const m = /^gs:\/\/([^/]+)\/(.+)$/s.exec(uri);
  if (!m) return null;
  const [, bucket, object] = m as unknown as [string, string, string];
  if (!BUCKET.test(bucket)) return null;
  if (object === '.' || object === '..' || Buffer.byteLength(object) > 1024 || /[\u0000-\u001f\u007f]/.test(object)) return null;
  return { bucket, object };
}

/** A `gs://bucket/prefix/` folder for VERTEX_STORAGE_URI: where Vertex writes results. */
export function isGsFolder(uri: string): boolean {
  const m = /^gs:\/\/([^/]+)(\/.*)?$/s.exec(uri);
  return m !== null && BUCKET.test(m[1]!) && !/[\u0000-\u001f\u007f]/.test(uri);
}

/** The JSON API's media download for an object. */
export function gcsMediaUrl(storageBaseUrl: string, o: GsObject): string {
  return `${storageBaseUrl.replace(/\/+$/, '')}/storage/v1/b/${encodeURIComponent(o.bucket)}/o/${encodeURIComponent(o.object)}?alt=media`;
}

/**
 * Streams an object Vertex wrote to Cloud Storage, with the same Bearer token
 * the Vertex calls use. The token is sent to the storage origin only: a
 * redirect elsewhere (a signed URL, say) is followed without it. `refusedWith`
 * is the status of a 401/403 from storage, so the caller can tell a token to
 * drop (401) from missing permissions (403).
 */
export async function downloadGcsObject(gs: GsObject, o: DownloadLimits & {
  storageBaseUrl: string; token: string; path: string; signal: AbortSignal; policy: OutboundPolicy; label: string;
}): Promise<DownloadOutcome & { refusedWith?: number }> {
  const where = `gs://${gs.bucket}/${gs.object}`;
  let refusedWith: number | undefined;
  const outcome = await downloadFromUpstream(gcsMediaUrl(o.storageBaseUrl, gs), {
    maxBytes: o.maxBytes, timeoutMs: o.timeoutMs, path: o.path, signal: o.signal, policy: o.policy,
    label: `${o.label} (Cloud Storage)`,
    headers: { authorization: `Bearer ${o.token}` },
    trustedOrigin: new URL(o.storageBaseUrl).origin,
    statusError: (status) => {
      // The job's only copy is gone: as good as a job the upstream forgot.
      if (status === 404) return failure('upstream_lost_job', 'transient', `${o.label}: the result ${where} does not exist in Cloud Storage (HTTP 404); it may have been deleted by a lifecycle rule.`);
      if (status === 401 || status === 403) {
        refusedWith = status;
        return failure('upstream_auth', 'channel', `${o.label}: Cloud Storage refused to read ${where} (HTTP ${status}); the credentials need storage.objects.get on the bucket.`);
      }
      return undefined;
    },
  });
  return refusedWith === undefined ? outcome : { ...outcome, refusedWith };
}
