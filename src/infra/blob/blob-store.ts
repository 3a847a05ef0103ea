import type { Readable } from 'node:stream';
import type { BlobInfo, Blobs } from '../../domain/ports.ts';

export type { BlobInfo };

export interface ByteRange {
  start: number;
  /** Inclusive, as in HTTP Range. */
  end: number;
}

/**
 * Where inputs and outputs live. Keys are slash-separated relative paths
 * (`inputs/<task>/0.png`); implementations: a local folder, S3 (scale-out).
 * It is the domain's blob port (put, putFile, stat, deletePrefix) and more;
 * putFile moves a finished local file (renders, spooled uploads) into place.
 */
export interface BlobStore extends Blobs {
  get(key: string): Promise<Buffer>;
  read(key: string, range?: ByteRange): Readable;
  delete(key: string): Promise<void>;
  /** A direct public link (presigned or CDN), or null when Reelay serves the blob itself via /files. */
  publicUrl(key: string, expiresAtSec: number): Promise<string | null>;
}

export function contentTypeForKey(key: string): string {
  const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  return ({ mp4: 'video/mp4', jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' } as Record<string, string>)[ext]
    ?? 'application/octet-stream';
}

/** Keys come from our own code, but a traversal must still be impossible if one ever were built from input. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9_\-][A-Za-z0-9_\-./]*$/.test(key) || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new Error(`unsafe blob key: ${JSON.stringify(key)}`);
  }
}
