import { z } from 'zod';
import { parseInput, type Route } from '../route.ts';
import { sendBlob } from '../send-blob.ts';
import { errors } from '../../domain/errors.ts';
import { ErrorBody } from '../../domain/task-schemas.ts';
import type { BlobStore } from '../../infra/blob/blob-store.ts';
import type { LinkSigner } from '../../infra/blob/signed-links.ts';

const LinkQuery = z.object({ expires: z.string().optional(), sig: z.string().optional() });

/** Public, signed, expiring links (the task's `url` and `thumbnail_url`): no API key needed. */
export function filesRoute(blobs: BlobStore, signer: LinkSigner, nowSec: () => number): Route {
  return {
    doc: {
      method: 'GET', url: '/files/*', tag: 'Public links', auth: false,
      summary: 'Download an output through its signed link (Range supported)', query: LinkQuery,
      responses: {
        200: { description: 'The file', contentType: 'video/mp4' },
        403: { description: 'Bad or expired signature', schema: ErrorBody },
      },
    },
    async handler(req, reply) {
      // The router has already percent-decoded the wildcard; decoding again would turn
      // "%2525" into "%" and make a lone "%" (e.g. from "%25E0") throw a URIError (a 500).
      const key = (req.params as { '*'?: string })['*'] ?? '';
      const { expires, sig } = parseInput(LinkQuery, req.query);
      const check = signer.check(key, expires, sig, nowSec());
      if (check === 'invalid') throw errors.forbiddenLink('This link is not valid (bad or missing signature).');
      if (check === 'expired') throw errors.forbiddenLink('This link has expired.');
      const info = await blobs.stat(key);
      if (!info) throw errors.notFound('file', key);
      return sendBlob(req, reply, blobs, key, info, Math.max(0, Number(expires) - nowSec()));
    },
  };
}
