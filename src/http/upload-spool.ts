import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SubmittedFile } from '../domain/submit-rules.ts';

/** The part went past the bytes it was allowed; the caller answers 413. */
export class SpoolLimitExceeded extends Error {
  constructor() {
    super('upload over its byte limit');
    this.name = 'SpoolLimitExceeded';
  }
}

/**
 * Multipart image parts go to a file as they arrive instead of into memory.
 *
 * Held as a Buffer, an 11.5 MB part was its socket's chunks plus the one
 * Buffer they were joined into (~23 MB for the life of the submit), and the
 * join itself held the event loop ~9 ms; every other key's requests waited
 * behind it, and the GC saw 23 MB come and go per upload (bench/README.md,
 * hostile). Written to a file, a chunk is let go once written, the SHA-256
 * (the idempotency hash) is taken a chunk at a time on the way, and the
 * image checks and the blob store read the file.
 *
 * Files live in `dir` (this process's scratch root, so a crash's leftovers go
 * with the next sweep); each request removes its own with `release()`.
 */
export function createUploadSpool(dir: string) {
  return {
    /**
     * Write `stream` to a new file, refusing (SpoolLimitExceeded) once it passes `maxBytes`. Errors of the
     * file system (a full disk: ENOSPC) are thrown as they are, so they answer as the server's fault.
     */
    async spool(stream: Readable, maxBytes: number, contentType: string | null): Promise<SubmittedFile> {
      // Each time: a tmp cleaner may have removed it while idle.
      await mkdir(dir, { recursive: true });
      const path = join(dir, `upload-${randomBytes(8).toString('hex')}`);
      const hash = createHash('sha256');
      let size = 0;
      const measure = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxBytes) return done(new SpoolLimitExceeded());
          hash.update(chunk);
          done(null, chunk);
        },
      });
      try {
        await pipeline(stream, measure, createWriteStream(path, { flags: 'wx' }));
      } catch (e) {
        await rm(path, { force: true });
        throw e;
      }
      return { path, size, sha256: hash.digest('hex'), contentType };
    },
    /** Remove files this request spooled (those the blob store has moved away are already gone). */
    async release(files: readonly SubmittedFile[]): Promise<void> {
      await Promise.all(files.map((f) => rm(f.path, { force: true })));
    },
  };
}

export type UploadSpool = ReturnType<typeof createUploadSpool>;
