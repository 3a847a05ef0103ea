import { z } from 'zod';
import { parseInput, type Route } from '../../route.ts';
import { actorOf } from '../../plugins/auth.ts';
import { sendBlob } from '../../send-blob.ts';
import { ErrorBody } from '../../../domain/task-schemas.ts';
import type { TaskService } from '../../../domain/task-service.ts';
import type { BlobStore } from '../../../infra/blob/blob-store.ts';
import { TaskParams } from './get.ts';

const ContentQuery = z.object({ variant: z.enum(['video', 'thumbnail']).default('video') });

export function contentRoute(tasks: TaskService, blobs: BlobStore): Route {
  return {
    doc: {
      method: 'GET', url: '/v1/video/generations/:task_id/content', tag: 'Video generations', auth: 'apiKey',
      summary: 'Stream the MP4 (Range supported); ?variant=thumbnail for the first-frame JPEG',
      params: TaskParams, query: ContentQuery,
      responses: {
        200: { description: 'The video', contentType: 'video/mp4' },
        206: { description: 'A byte range of it', contentType: 'video/mp4' },
        404: { description: 'Unknown or not yours', schema: ErrorBody },
        409: { description: 'Not succeeded (yet)', schema: ErrorBody },
      },
    },
    async handler(req, reply) {
      const { task_id } = parseInput(TaskParams, req.params);
      const { variant } = parseInput(ContentQuery, req.query);
      const { key, info } = await tasks.content(actorOf(req), task_id, variant);
      return sendBlob(req, reply, blobs, key, info, 3600);
    },
  };
}
