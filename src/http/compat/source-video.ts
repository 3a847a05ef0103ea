import { createHash } from 'node:crypto';
import { errors, isApiError } from '../../domain/errors.ts';
import type { Actor, TaskService } from '../../domain/task-service.ts';
import type { BlobStore } from '../../infra/blob/blob-store.ts';

/**
 * An extension's source given by its bytes (`instances[0].video` with
 * `bytesBase64Encoded`/`encodedVideo`): what a Vertex client has, since that
 * surface returns each video inline. Reelay extends only videos it made for
 * the same key, so the bytes must be, byte for byte, the video of one of the
 * key's recent succeeded tasks: compared by length first (a stat), then by
 * SHA-256 of the stored file. Nothing is stored at completion for this; a
 * uri (Gemini) or the operation name is the cheap way and is always preferred.
 */

/** How many of the key's newest succeeded tasks are compared; an older video is passed by its uri or operation name. */
export const SCANNED_TASKS = 200;
const PAGE = 100;

/** SHA-256 of stored outputs by blob key: a succeeded task's video never changes. Bounded, oldest entry out first. */
const hashes = new Map<string, string>();
const MAX_HASHES = 2000;

async function storedHash(blobs: BlobStore, key: string): Promise<string> {
  const known = hashes.get(key);
  if (known) return known;
  const h = createHash('sha256');
  for await (const chunk of blobs.read(key)) h.update(chunk as Buffer);
  const hex = h.digest('hex');
  if (hashes.size >= MAX_HASHES) hashes.delete(hashes.keys().next().value!);
  hashes.set(key, hex);
  return hex;
}

function decodeVideo(base64: string, field: string): Buffer {
  const b64 = base64.replace(/\s+/g, '');
  if (b64.length % 4 === 1 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) {
    throw errors.invalidField(field, `"${field}" must be base64 video bytes.`, 'invalid_video');
  }
  return Buffer.from(b64, 'base64');
}

interface Deps { tasks: Pick<TaskService, 'list' | 'content'>; blobs: BlobStore }

/** The task (of this key) whose stored video is exactly these bytes; a 400 naming `field` when none of the scanned ones is. */
export async function taskOfVideoBytes(d: Deps, actor: Actor, base64: string, field: string): Promise<string> {
  const bytes = decodeVideo(base64, field);
  const wanted = createHash('sha256').update(bytes).digest('hex');
  let after: string | undefined;
  for (let scanned = 0; scanned < SCANNED_TASKS;) {
    const page = await d.tasks.list(actor, { limit: Math.min(PAGE, SCANNED_TASKS - scanned), status: 'succeeded', after });
    for (const t of page.data) {
      // Expired or purged outputs cannot be extended anyway: content() refuses them.
      const stored = await d.tasks.content(actor, t.id, 'video').catch((e: unknown) => {
        if (isApiError(e)) return undefined;
        throw e;
      });
      if (stored && stored.info.size === bytes.length && await storedHash(d.blobs, stored.key) === wanted) return t.id;
    }
    scanned += page.data.length;
    if (!page.has_more || !page.last_id) break;
    after = page.last_id;
  }
  throw errors.invalidField(field,
    `"${field}" is not the video of any of this key's ${SCANNED_TASKS} newest succeeded tasks. Reelay extends only videos it made for the same key: `
    + 'pass the video unchanged as an earlier operation returned it (its bytes, or the uri on the Gemini API), or the name of that operation as the uri.',
    'unknown_video');
}
