import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BlobInfo, BlobStore, ByteRange } from '../infra/blob/blob-store.ts';

/** Single-range `bytes=` parsing per RFC 9110; undefined = whole body, null = unsatisfiable. */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // multi-range or junk: serve it all
  let start: number, end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

/** Stream a blob with Range support (players seek with it). */
export function sendBlob(req: FastifyRequest, reply: FastifyReply, blobs: BlobStore, key: string, info: BlobInfo, cacheSeconds: number) {
  reply.header('accept-ranges', 'bytes');
  reply.header('content-type', info.contentType);
  reply.header('cache-control', `private, max-age=${Math.max(0, cacheSeconds)}`);
  const range = parseRange(req.headers.range, info.size);
  if (range === null) {
    return reply.status(416).header('content-range', `bytes */${info.size}`).send();
  }
  if (range) {
    reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
    reply.header('content-length', range.end - range.start + 1);
  } else {
    reply.header('content-length', info.size);
  }
  if (req.method === 'HEAD') return reply.send();
  return reply.send(blobs.read(key, range));
}
