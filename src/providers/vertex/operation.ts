import { failure } from '../../domain/failures.ts';
import { invalidResponse, redact } from '../upstream/http-call.ts';
import type { PollOutcome } from '../upstream/upstream-provider.ts';
import { parseGsUri } from './cloud-storage.ts';
import { LABEL, operationFailure } from './errors.ts';

interface Operation {
  done?: unknown;
  error?: unknown;
  response?: { raiMediaFilteredCount?: unknown; raiMediaFilteredReasons?: unknown; videos?: unknown };
}

interface Video { bytesBase64Encoded?: unknown; gcsUri?: unknown }

const failed = (f: ReturnType<typeof failure>): PollOutcome => ({ state: 'failed', failure: f });

/**
 * A fetchPredictOperation answer (UPSTREAM.md §3) → running, the video, or why not.
 * `ownBucket`: the bucket of the channel's storageUri; a gs:// result anywhere
 * else is refused, because the token can read more than our results.
 */
export function readOperation(body: Record<string, unknown>, ownBucket: string | undefined): PollOutcome {
  const op = body as Operation;
  if (op.done !== true) return { state: 'running' };
  if (op.error !== undefined && op.error !== null) return failed(operationFailure(op.error));
  const videos = Array.isArray(op.response?.videos) ? op.response.videos as Video[] : [];
  const v = videos[0];
  if (!v) {
    if (Number(op.response?.raiMediaFilteredCount) > 0) {
      const why = Array.isArray(op.response?.raiMediaFilteredReasons)
        ? op.response.raiMediaFilteredReasons.filter((r): r is string => typeof r === 'string').join(' ') : '';
      return failed(failure('content_filtered', 'content', `${LABEL} filtered the generated video for safety${why ? `: ${redact(why, [])}` : '.'}`));
    }
    return failed(invalidResponse(LABEL, 'a generated video'));
  }
  if (typeof v.bytesBase64Encoded === 'string' && v.bytesBase64Encoded) {
    return { state: 'done', video: { kind: 'bytes', data: Buffer.from(v.bytesBase64Encoded, 'base64') } };
  }
  if (typeof v.gcsUri === 'string' && v.gcsUri.startsWith('gs://')) {
    return ownObject(v.gcsUri, ownBucket) ? { state: 'done', video: { kind: 'url', url: v.gcsUri } } : failed(notOurs(ownBucket));
  }
  // An https gcsUri is a link for anyone: downloaded without a credential, SSRF-checked.
  if (typeof v.gcsUri === 'string' && v.gcsUri.startsWith('https://')) return { state: 'done', video: { kind: 'url', url: v.gcsUri } };
  return failed(invalidResponse(LABEL, 'video bytes or a gs:// or https:// gcsUri'));
}

/** Only objects in the configured bucket are ours to fetch; with no bucket configured, none is. */
export const ownObject = (uri: string, ownBucket: string | undefined) => {
  const gs = parseGsUri(uri);
  return gs !== null && ownBucket !== undefined && gs.bucket === ownBucket ? gs : null;
};

export const notOurs = (ownBucket: string | undefined) =>
  invalidResponse(LABEL, ownBucket ? `a result in the configured bucket ${ownBucket}` : 'inline bytes (a gs:// result, but no VERTEX_STORAGE_URI bucket is configured)');
