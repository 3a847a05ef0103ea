/**
 * How the worker turns a stored task's creative inputs into its job
 * (src/worker/job-inputs.ts): frames and references apart, a references-only
 * model's start image first among the references, and the video an extension
 * continues — with the upstream's own URI only where the same provider made it.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { TaskRow } from '../../src/infra/db/schema.ts';
import { ProviderError } from '../../src/providers/provider.ts';
import { askedOf, jobInputs, type JobInputDeps } from '../../src/worker/job-inputs.ts';

const catalog = loadCatalog();
const blobs = new Map<string, Buffer>([
  ['inputs/t/0.png', Buffer.from('start')], ['inputs/t/1.png', Buffer.from('last')],
  ['inputs/t/ref-0.jpg', Buffer.from('ref0')], ['inputs/t/ref-1.jpg', Buffer.from('ref1')], ['outputs/src/video.mp4', Buffer.from('mp4')],
]);
const meta = (extra: Record<string, unknown> = {}) => JSON.stringify({ duration: 8, width: 1280, height: 720, fps: 24, has_audio: true, ...extra });
let source: Partial<TaskRow> | undefined;
const deps: JobInputDeps = {
  blobs: { get: async (k) => blobs.get(k)!, stat: async (k) => (blobs.has(k) ? { size: 1, contentType: 'video/mp4' } : undefined) },
  tasks: { find: async (id, key) => (source && id === source.id && key === source.key_id ? source as TaskRow : undefined) },
};
const row = (over: Partial<TaskRow>) => ({ id: 't', key_id: 'k', provider: 'vertex', input_keys: '[]', reference_keys: '[]', extend_task_id: null, ...over }) as TaskRow;
const text = (bufs: Buffer[] | undefined) => (bufs ?? []).map((b) => b.toString());

describe('job inputs', () => {
  it('frames and references apart, in order', async () => {
    const r = await jobInputs(deps, row({ input_keys: '["inputs/t/0.png","inputs/t/ref-0.jpg","inputs/t/ref-1.jpg"]', reference_keys: '["inputs/t/ref-0.jpg","inputs/t/ref-1.jpg"]' }), catalog.find('veo-3.1-generate-001')!);
    expect(text(r.images)).toEqual(['start']);
    expect(text(r.referenceImages)).toEqual(['ref0', 'ref1']);
    expect(r.extend).toBeNull();
    expect(askedOf({ ...r, seconds: 8 } as never, '720p')).toEqual({ seconds: 8, resolution: '720p', startImage: true, lastFrame: false, references: 2, extension: false });
  });

  it('a references-only model (viduq3): the start image is the first reference', async () => {
    const r = await jobInputs(deps, row({ provider: 'vidu', input_keys: '["inputs/t/0.png","inputs/t/ref-0.jpg"]', reference_keys: '["inputs/t/ref-0.jpg"]' }), catalog.find('viduq3')!);
    expect(r.images).toEqual([]);
    expect(text(r.referenceImages)).toEqual(['start', 'ref0']);
  });

  it('an extension carries the source video and its measured facts; its upstream URI only from the same provider', async () => {
    const model = catalog.find('veo-3.1-fast-generate-001')!;
    source = { id: 'src', key_id: 'k', output_key: 'outputs/src/video.mp4', metadata_json: meta({ upstream: { provider: 'vertex', id: 'op', result_uri: 'gs://b/o.mp4' } }) };
    const r = await jobInputs(deps, row({ extend_task_id: 'src' }), model);
    expect(r.extend).toMatchObject({ taskId: 'src', mimeType: 'video/mp4', duration: 8, width: 1280, height: 720, fps: 24, hasAudio: true, upstreamUri: 'gs://b/o.mp4' });
    expect(r.extend!.video.toString()).toBe('mp4');
    // The task goes to Gemini: a gs:// object is no file of its.
    expect((await jobInputs(deps, row({ extend_task_id: 'src', provider: 'gemini' }), model)).extend).not.toHaveProperty('upstreamUri');
    source = { ...source, metadata_json: meta({ upstream: { provider: 'vidu', id: 'v', result_uri: 'https://cdn/x.mp4' } }) };
    expect((await jobInputs(deps, row({ extend_task_id: 'src', provider: 'vidu' }), model)).extend).not.toHaveProperty('upstreamUri');
  });

  it('a source deleted (or expired) since the submit: the task fails with extend_source_unavailable', async () => {
    const model = catalog.find('veo-3.1-fast-generate-001')!;
    source = undefined;
    await expect(jobInputs(deps, row({ extend_task_id: 'src' }), model)).rejects.toMatchObject({ code: 'extend_source_unavailable' });
    source = { id: 'src', key_id: 'k', output_key: 'outputs/src/gone.mp4', metadata_json: meta() };
    await expect(jobInputs(deps, row({ extend_task_id: 'src' }), model)).rejects.toBeInstanceOf(ProviderError);
    // Another key's task is never found.
    source = { id: 'src', key_id: 'other', output_key: 'outputs/src/video.mp4', metadata_json: meta() };
    await expect(jobInputs(deps, row({ extend_task_id: 'src' }), model)).rejects.toMatchObject({ code: 'extend_source_unavailable' });
  });
});
