import { loadCatalog, type ModelSpec } from '../../src/domain/catalog.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';

const catalog = loadCatalog();
/** A few bytes that start like a PNG: enough for the MIME sniffing the mappings do. */
export const PNG_HEADER = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

/**
 * A job as a channel sends it, for mapping tests: `publicModel` is what the
 * client asked for, `upstreamModel` the only thing that may shape the body.
 */
export function upstreamJob(publicModel: ModelSpec, upstreamModel: string, over: Partial<UpstreamJob> & { resolution?: string } = {}): UpstreamJob {
  const { resolution = '720p', ...rest } = over;
  const aspectRatio = rest.aspectRatio ?? '16:9';
  return {
    taskId: 't1', model: publicModel, upstreamModel, prompt: 'a kite', negativePrompt: null, aspectRatio, seconds: 8,
    ...catalog.dimensions(resolution, aspectRatio), fps: 24, seed: 7, generateAudio: true, images: [PNG_HEADER], options: {}, ...rest,
  };
}
