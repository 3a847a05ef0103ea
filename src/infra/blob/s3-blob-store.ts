import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertSafeKey, contentTypeForKey, type BlobInfo, type BlobStore, type ByteRange } from './blob-store.ts';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  endpoint?: string | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** Path-style URLs (http://host/bucket/key): what MinIO, s3rver and most self-hosted stores want. */
  forcePathStyle: boolean;
  /** Serve outputs from a public bucket or CDN at this base instead of presigned links. */
  publicBaseUrl?: string | undefined;
  now(): number;
}

/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 86400;

/**
 * Blobs in an S3-compatible bucket (scale-out). Renders are uploaded streamed
 * (multipart for large files); reads are ranged GETs; public links are
 * presigned GETs (or a CDN base), so downloads never pass through the API.
 */
export function s3BlobStore(o: S3StoreOptions): BlobStore & { client: S3Client } {
  const client = new S3Client({
    region: o.region,
    forcePathStyle: o.forcePathStyle,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.accessKeyId && o.secretAccessKey ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } } : {}),
    // Self-hosted S3 implementations vary in their support of the newer default checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = o.bucket;
  const key = (k: string) => { assertSafeKey(k); return k; };

  return {
    client,
    async put(k, data, contentType) {
      await client.send(new PutObjectCommand({ Bucket, Key: key(k), Body: data, ContentType: contentType }));
    },
    async putFile(k, path, contentType) {
      // lib-storage streams the file and switches to a multipart upload above 5 MB parts.
      const upload = new Upload({ client, params: { Bucket, Key: key(k), Body: createReadStream(path), ContentType: contentType }, partSize: 8 * 1024 * 1024, queueSize: 2 });
      await upload.done();
      await unlink(path).catch(() => {});
    },
    async get(k) {
      const r = await client.send(new GetObjectCommand({ Bucket, Key: key(k) }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
    async stat(k): Promise<BlobInfo | undefined> {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket, Key: key(k) }));
        return { size: Number(r.ContentLength ?? 0), contentType: r.ContentType ?? contentTypeForKey(k) };
      } catch (e) {
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404 || (e as Error).name === 'NotFound') return undefined;
        throw e;
      }
    },
    read(k, range?: ByteRange): Readable {
      // A pass-through that starts the GET lazily, so callers get a stream synchronously like the local store.
      const out = new Readable({ read() {} });
      client.send(new GetObjectCommand({ Bucket, Key: key(k), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }))
        .then((r) => {
          const body = r.Body as Readable;
          body.on('data', (c) => { if (!out.push(c)) body.pause(); });
          out._read = () => body.resume();
          body.on('end', () => out.push(null));
          body.on('error', (e) => out.destroy(e));
        }, (e: Error) => out.destroy(e));
      return out;
    },
    async delete(k) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key(k) }));
    },
    async deletePrefix(prefix) {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken: token }));
        const objects = (page.Contents ?? []).map((c) => ({ Key: c.Key! }));
        if (objects.length) await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: objects, Quiet: true } }));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async publicUrl(k, expiresAtSec) {
      if (o.publicBaseUrl) return `${o.publicBaseUrl.replace(/\/+$/, '')}/${key(k).split('/').map(encodeURIComponent).join('/')}`;
      const seconds = Math.max(1, Math.min(MAX_PRESIGN_SECONDS, expiresAtSec - Math.floor(o.now() / 1000)));
      return getSignedUrl(client, new GetObjectCommand({ Bucket, Key: key(k) }), { expiresIn: seconds });
    },
  };
}
