import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { assertSafeKey, contentTypeForKey, type BlobInfo, type BlobStore, type ByteRange } from './blob-store.ts';

/**
 * Blobs as files under one folder. Writes go to a temp name and are renamed
 * into place, so a crash never leaves a half-written object under a real key.
 */
export function localBlobStore(root: string): BlobStore {
  const pathOf = (key: string) => {
    assertSafeKey(key);
    return join(root, key);
  };
  const tmpFor = (p: string) => `${p}.tmp-${randomBytes(4).toString('hex')}`;

  return {
    async put(key, data) {
      const p = pathOf(key);
      await mkdir(dirname(p), { recursive: true });
      const tmp = tmpFor(p);
      try {
        await writeFile(tmp, data);
        await rename(tmp, p);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    },
    async putFile(key, path) {
      const p = pathOf(key);
      await mkdir(dirname(p), { recursive: true });
      try {
        await rename(path, p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        // Temp dir on another filesystem: copy then rename within ours.
        const tmp = tmpFor(p);
        try {
          await copyFile(path, tmp);
          await rename(tmp, p);
        } catch (e2) {
          await rm(tmp, { force: true });
          throw e2;
        }
        await unlink(path).catch(() => {});
      }
    },
    get: (key) => readFile(pathOf(key)),
    async stat(key): Promise<BlobInfo | undefined> {
      try {
        const s = await stat(pathOf(key));
        return s.isFile() ? { size: s.size, contentType: contentTypeForKey(key) } : undefined;
      } catch {
        return undefined;
      }
    },
    read(key, range?: ByteRange): Readable {
      return createReadStream(pathOf(key), range ? { start: range.start, end: range.end } : {});
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
    async deletePrefix(prefix) {
      await rm(pathOf(prefix.replace(/\/+$/, '')), { recursive: true, force: true });
    },
    // Served by the API's own signed /files links.
    publicUrl: async () => null,
  };
}
