import { join } from 'node:path';
import type { BlobStore } from '../infra/blob/blob-store.ts';
import { probeMedia } from '../infra/ffmpeg/probe.ts';
import { runFfmpeg } from '../infra/ffmpeg/run-ffmpeg.ts';
import { ProviderError } from '../providers/provider.ts';
import type { Lifecycle } from '../domain/task-lifecycle.ts';
import { endingOf, isEnded } from '../domain/task-states.ts';
import type { TasksRepo } from '../infra/db/tasks-repo.ts';

export interface FinishInput {
  taskId: string;
  videoPath: string;
  workDir: string;
  seed: number;
  details: Record<string, unknown>;
  ffmpeg: { ffmpeg: string; ffprobe: string };
  blobs: BlobStore;
  signal: AbortSignal;
}

/**
 * Shared by every provider: measure the file (metadata comes from ffprobe,
 * never from the request), cut a first-frame thumbnail, store both.
 */
export async function finishOutput(f: FinishInput) {
  let facts;
  try {
    facts = await probeMedia(f.ffmpeg.ffprobe, f.videoPath);
  } catch (e) {
    throw new ProviderError('invalid_output', 'The produced video could not be read back.', { cause: e });
  }
  if (facts.duration <= 0 || facts.width <= 0) throw new ProviderError('invalid_output', 'The produced video is empty.');
  const thumb = join(f.workDir, 'thumbnail.jpg');
  await runFfmpeg(f.ffmpeg.ffmpeg, ['-y', '-i', f.videoPath, '-frames:v', '1', '-q:v', '3', thumb], { signal: f.signal });
  const outputKey = `outputs/${f.taskId}/video.mp4`;
  const thumbnailKey = `outputs/${f.taskId}/thumbnail.jpg`;
  await f.blobs.putFile(outputKey, f.videoPath, 'video/mp4');
  await f.blobs.putFile(thumbnailKey, thumb, 'image/jpeg');
  return {
    outputKey,
    thumbnailKey,
    metadata: {
      duration: facts.duration,
      fps: facts.fps,
      width: facts.width,
      height: facts.height,
      seed: f.seed,
      has_audio: facts.hasAudio,
      video_codec: facts.videoCodec,
      ...f.details,
    },
  };
}

export interface PublishDeps {
  blobs: BlobStore;
  ffmpeg: { ffmpeg: string; ffprobe: string };
  lifecycle: Lifecycle;
  tasks: Pick<TasksRepo, 'find'>;
  outputTtlSeconds: number;
  now(): number;
}

export type FinishedOutput = Awaited<ReturnType<typeof finishOutput>>;

/**
 * End the task `succeeded` with a stored output (charging it) — as `ownerId`,
 * so a task cancelled or taken over meanwhile is not completed. False:
 * someone else ended it first. A cancelled or failed task's files are removed;
 * a task another worker completed keeps them (the keys are the same).
 */
export async function completeWithOutput(d: PublishDeps, taskId: string, ownerId: string, out: FinishedOutput): Promise<boolean> {
  const won = await d.lifecycle.complete(taskId, ownerId, d.now(), {
    outputKey: out.outputKey, thumbnailKey: out.thumbnailKey, metadataJson: JSON.stringify(out.metadata),
    expiresAt: d.now() + d.outputTtlSeconds * 1000,
  });
  if (!won) {
    // Ended another way meanwhile: what that ending does with outputs decides (a task completed elsewhere keeps them; the keys are the same).
    const row = await d.tasks.find(taskId);
    if (row && isEnded(row.status) && !endingOf(row.status).keepsOutputs) await d.blobs.deletePrefix(`outputs/${taskId}/`);
  }
  return Boolean(won);
}

/** finishOutput then completeWithOutput: the whole ending of a provider that made the file. */
export async function publishOutput(d: PublishDeps, a: Omit<FinishInput, 'ffmpeg' | 'blobs'> & { ownerId: string }): Promise<boolean> {
  const out = await finishOutput({ ...a, ffmpeg: d.ffmpeg, blobs: d.blobs });
  return completeWithOutput(d, a.taskId, a.ownerId, out);
}
