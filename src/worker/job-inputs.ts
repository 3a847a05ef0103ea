import type { ModelSpec } from '../domain/catalog.ts';
import type { Asked } from '../domain/upstream-limits.ts';
import type { BlobStore } from '../infra/blob/blob-store.ts';
import type { TasksRepo } from '../infra/db/tasks-repo.ts';
import type { TaskRow } from '../infra/db/schema.ts';
import { ProviderError, type ExtendSource, type GenerationJob } from '../providers/provider.ts';

export interface JobInputDeps {
  blobs: Pick<BlobStore, 'get' | 'stat'>;
  tasks: Pick<TasksRepo, 'find'>;
}

/** Providers whose result location an upstream of the same provider can take back as a reference (a Files URI, a gs:// object). */
const REFERABLE = new Set(['gemini', 'vertex']);

/**
 * A task's creative inputs as its job carries them (API.md §3): the frames,
 * the reference images, and the video it extends. On a model that renders
 * from references only, the start image is sent as the first reference.
 */
export async function jobInputs(d: JobInputDeps, row: TaskRow, model: ModelSpec): Promise<Pick<GenerationJob, 'images' | 'referenceImages' | 'extend'>> {
  const referenceKeys = JSON.parse(row.reference_keys ?? '[]') as string[];
  const frameKeys = (JSON.parse(row.input_keys) as string[]).filter((k) => !referenceKeys.includes(k));
  let images = await Promise.all(frameKeys.map((k) => d.blobs.get(k)));
  let referenceImages = await Promise.all(referenceKeys.map((k) => d.blobs.get(k)));
  if (model.reference_images?.only && images.length) {
    referenceImages = [...images, ...referenceImages];
    images = [];
  }
  const extend = row.extend_task_id ? await extendSource(d, row) : null;
  return { images, referenceImages, extend };
}

/** What a job asks of an upstream id (upstream-limits.ts), as the job will be sent. */
export function askedOf(job: GenerationJob, resolution: string): Asked {
  return {
    seconds: job.seconds, resolution, startImage: job.images.length > 0, lastFrame: job.images.length > 1,
    references: job.referenceImages?.length ?? 0, extension: Boolean(job.extend),
  };
}

/**
 * The video a task continues, with its measured facts; `upstreamUri` where
 * the same provider made it upstream (the adapter still checks it is its own,
 * and sends the bytes otherwise). Gone since the submit (the owner deleted
 * it, or it expired): the task fails and is refunded.
 */
async function extendSource(d: JobInputDeps, row: TaskRow): Promise<ExtendSource> {
  const id = row.extend_task_id!;
  const src = await d.tasks.find(id, row.key_id);
  const gone = () => new ProviderError('extend_source_unavailable', `Task ${id}, which this task extends, was deleted or its video expired before this task ran.`);
  if (!src?.output_key || !src.metadata_json || !(await d.blobs.stat(src.output_key))) throw gone();
  const meta = JSON.parse(src.metadata_json) as {
    duration: number; width: number; height: number; fps: number; has_audio: boolean;
    provider?: string; upstream?: { provider?: string; result_uri?: string };
  };
  const video = await d.blobs.get(src.output_key);
  const uri = meta.upstream?.result_uri;
  const sameProvider = uri !== undefined && meta.upstream?.provider === row.provider && REFERABLE.has(row.provider);
  return {
    taskId: id, video, mimeType: 'video/mp4', duration: Number(meta.duration), width: Number(meta.width), height: Number(meta.height),
    fps: Number(meta.fps), hasAudio: Boolean(meta.has_audio), ...(sameProvider ? { upstreamUri: uri } : {}),
  };
}
