// Last frame, reference images and extension → the Gemini API bodies (Veo
// predictLongRunning §1.1, Omni Interactions §1.3), judged by the strict
// fake's checkers: what the notes allow is accepted, what they forbid refused.
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { ExtendSource } from '../../src/providers/provider.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { omniRequest } from '../../src/providers/gemini/interactions-mapping.ts';
import { LABELS, omniInputProblem } from '../../src/providers/gemini/omni-input.ts';
import { veoInputProblem, veoRequest } from '../../src/providers/gemini/veo-mapping.ts';
import { checkInteractionBody, checkVeoBody, OMNI } from '../fakes/gemini.ts';
import { renderClip } from '../fakes/vertex.ts';
import { upstreamJob } from '../helpers/upstream-job.ts';

const catalog = loadCatalog();
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');
const b64 = (b: Buffer) => b.toString('base64');
const PUBLIC = catalog.find('veo-3.0-generate-001') ?? catalog.models[0]!;
const VEO = ['veo-3.1-generate-001', 'veo-3.1-fast-generate-001'];
const LITE = 'veo-3.1-lite-generate-001';
const live = { live: [...VEO, LITE] };
const FILE = 'https://generativelanguage.googleapis.com/v1beta/files/abc123:download?alt=media';

const job = (upstreamModel: string, over: Partial<UpstreamJob> & { resolution?: string } = {}): UpstreamJob =>
  upstreamJob(PUBLIC, upstreamModel, { images: [PNG], ...over });
const clip = () => renderClip({ width: 1280, height: 720 });
const source = (over: Partial<ExtendSource> = {}): ExtendSource => ({
  taskId: 'task_src', video: clip(), mimeType: 'video/mp4', duration: 1, width: 1280, height: 720, fps: 24, hasAudio: true, ...over,
});

describe('Gemini API Veo: last frame, references, extension', () => {
  it('lastFrame and referenceImages as {bytesBase64Encoded, mimeType}; references 8 s, allow_adult; a start frame first among them', () => {
    const refs = veoRequest(job(VEO[0]!, { images: [JPEG], referenceImages: [PNG] }));
    expect(refs.instances[0]).toEqual({
      prompt: 'a kite',
      referenceImages: [
        { image: { bytesBase64Encoded: b64(JPEG), mimeType: 'image/jpeg' }, referenceType: 'asset' },
        { image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' }, referenceType: 'asset' },
      ],
    });
    expect(refs.parameters).toEqual({ aspectRatio: '16:9', durationSeconds: 8, resolution: '720p', personGeneration: 'allow_adult', sampleCount: 1 });
    expect(checkVeoBody(refs, VEO[0]!, live)).toBeNull();
  });

  it('every allowed combination is accepted: frames at every length/size, 1–3 references at 8 s, both aspects', () => {
    let n = 0;
    for (const id of VEO) for (const aspectRatio of ['16:9', '9:16']) {
      for (const [resolution, seconds] of [['720p', 4], ['720p', 6], ['720p', 8], ['1080p', 8], ['4k', 8]] as const) {
        expect(checkVeoBody(veoRequest(job(id, { images: [PNG, JPEG], resolution, seconds, aspectRatio })), id, live)).toBeNull();
        n++;
      }
      for (const resolution of ['720p', '1080p', '4k']) for (const refs of [[PNG], [PNG, JPEG], [PNG, JPEG, PNG]]) {
        expect(checkVeoBody(veoRequest(job(id, { images: [], referenceImages: refs, resolution, aspectRatio })), id, live)).toBeNull();
        n++;
      }
    }
    expect(n).toBe(2 * 2 * (5 + 9));
  });

  it('extension: video {encodedVideo, encoding} or {uri}; alone, 8 s, 720p, personGeneration left to the service', () => {
    const inline = veoRequest(job(VEO[0]!, { images: [], seconds: 7, extend: source({ upstreamUri: FILE }) }));
    expect(inline.instances[0]).toEqual({ prompt: 'a kite', video: { encodedVideo: b64(clip()), encoding: 'video/mp4' } });
    expect(inline.parameters).toEqual({ aspectRatio: '16:9', durationSeconds: 8, resolution: '720p', sampleCount: 1 });
    expect(checkVeoBody(inline, VEO[0]!, live)).toBeNull();
    const byUri = veoRequest(job(VEO[1]!, { images: [], seconds: 7, aspectRatio: '9:16', extend: source({ upstreamUri: FILE }) }), { videoUri: true });
    expect(byUri.instances[0]).toEqual({ prompt: 'a kite', video: { uri: FILE } });
    expect(checkVeoBody(byUri, VEO[1]!, live)).toBeNull();
    expect(checkVeoBody(byUri, VEO[1]!, { ...live, knownFile: () => false })).toEqual({ status: 404, message: 'File files/abc123 is not found or has expired.' });
  });

  it('the fake refuses what the notes forbid', () => {
    const ext = veoRequest(job(VEO[0]!, { images: [], extend: source() }));
    const withVideo = (video: unknown) => ({ ...ext, instances: [{ prompt: 'a kite', video }] });
    expect(checkVeoBody(withVideo({ bytesBase64Encoded: b64(clip()), mimeType: 'video/mp4' }), VEO[0]!, live)?.message).toBe('`bytesBase64Encoded` isn\'t supported by this model.');
    expect(checkVeoBody(withVideo({ encodedVideo: b64(clip()) }), VEO[0]!, live)?.message).toBe('* instances[0].video.encoding: video/mp4 is required with encodedVideo.');
    expect(checkVeoBody(withVideo({ encodedVideo: b64(PNG), encoding: 'video/mp4' }), VEO[0]!, live)?.message).toBe('* instances[0].video.encodedVideo could not be decoded as an MP4 video.');
    expect(checkVeoBody(withVideo({ uri: 'https://example.com/x.mp4' }), VEO[0]!, live)?.message).toContain('is not a Files API URI');
    expect(checkVeoBody(withVideo({ uri: FILE, encodedVideo: b64(clip()), encoding: 'video/mp4' }), VEO[0]!, live)?.message).toContain('exactly one of uri or encodedVideo');
    expect(checkVeoBody({ ...ext, parameters: { ...ext.parameters, resolution: '1080p' } }, VEO[0]!, live)?.message).toBe('resolution 1080p isn\'t supported for video extension; extension output is 720p.');
    expect(checkVeoBody({ ...ext, parameters: { ...ext.parameters, durationSeconds: 6 } }, VEO[0]!, live)?.message).toBe('durationSeconds must be 8 for video extension (got 6).');
    expect(checkVeoBody({ ...ext, instances: [{ ...ext.instances[0], image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' } }] }, VEO[0]!, live)?.message)
      .toBe('* instances[0].video (extension) cannot be combined with image, lastFrame or referenceImages.');
    expect(checkVeoBody(ext, LITE, live)?.message).toBe('`video` isn\'t supported by this model.');
    const refs = veoRequest(job(VEO[0]!, { images: [], referenceImages: [PNG] }));
    expect(checkVeoBody(refs, LITE, live)?.message).toBe('`referenceImages` isn\'t supported by this model.');
    const style = { ...refs, instances: [{ prompt: 'a kite', referenceImages: [{ image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' }, referenceType: 'style' }] }] };
    expect(checkVeoBody(style, VEO[0]!, live)?.message).toBe(`* referenceType isn't supported by ${VEO[0]}; use asset.`);
    expect(checkVeoBody({ ...refs, instances: [{ ...refs.instances[0], image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' } }] }, VEO[0]!, live)?.message)
      .toBe('* instances[0]: image and referenceImages cannot be both set.');
    expect(checkVeoBody({ ...refs, parameters: { ...refs.parameters, durationSeconds: 4 } }, VEO[0]!, live)?.message).toBe('durationSeconds must be 8 for reference images (got 4).');
  });

  it('combinations no Veo instance holds are refused before any call', () => {
    expect(veoInputProblem(job(VEO[0]!, { images: [PNG, JPEG], referenceImages: [PNG] }))).toBe('Veo cannot combine a last frame with reference images');
    expect(veoInputProblem(job(VEO[0]!, { extend: source() }))).toBe('a Veo extension continues the video alone: it takes no start frame, last frame or reference images');
    expect(veoInputProblem(job(VEO[0]!, { images: [PNG], referenceImages: [PNG, PNG, PNG] }))).toContain('at most 3 reference images');
    expect(veoInputProblem(job(VEO[0]!, { images: [PNG, PNG, PNG] }))).toContain('at most one last frame');
  });
});

describe('Omni (Interactions): image parts plus the task', () => {
  it('first + last: both image parts in order, each named by a text part before it; task image_to_video', () => {
    const body = omniRequest(job(OMNI, { images: [PNG, JPEG], seconds: 6 }));
    expect(body.input).toEqual([
      { type: 'text', text: LABELS.first }, { type: 'image', mime_type: 'image/png', data: b64(PNG) },
      { type: 'text', text: LABELS.last }, { type: 'image', mime_type: 'image/jpeg', data: b64(JPEG) },
      { type: 'text', text: 'a kite' },
    ]);
    expect(body.generation_config.video_config).toEqual({ task: 'image_to_video' });
    expect(checkInteractionBody(body)).toBeNull();
  });

  it('references: task reference_to_video; the start frame named first, then the named references', () => {
    const body = omniRequest(job(OMNI, { images: [PNG], referenceImages: [JPEG, PNG] }));
    expect(body.input).toEqual([
      { type: 'text', text: LABELS.first }, { type: 'image', mime_type: 'image/png', data: b64(PNG) },
      { type: 'text', text: LABELS.references }, { type: 'image', mime_type: 'image/jpeg', data: b64(JPEG) }, { type: 'image', mime_type: 'image/png', data: b64(PNG) },
      { type: 'text', text: 'a kite' },
    ]);
    expect(body.generation_config.video_config).toEqual({ task: 'reference_to_video' });
    expect(checkInteractionBody(body)).toBeNull();
    const only = omniRequest(job(OMNI, { images: [], referenceImages: [JPEG] }));
    expect(only.input.map((p) => p.type)).toEqual(['text', 'image', 'text']);
    expect(checkInteractionBody(only)).toBeNull();
  });

  it('extend: one video part (data, or the Files-API uri), task extend, duration = what it adds', () => {
    const inline = omniRequest(job(OMNI, { images: [], seconds: 5, extend: source({ upstreamUri: FILE }) }));
    expect(inline.input).toEqual([{ type: 'video', mime_type: 'video/mp4', data: b64(clip()) }, { type: 'text', text: 'a kite' }]);
    expect(inline.generation_config.video_config).toEqual({ task: 'extend' });
    expect(inline.response_format.duration).toBe('5s');
    expect(checkInteractionBody(inline)).toBeNull();
    const byUri = omniRequest(job(OMNI, { images: [], seconds: 5, extend: source({ upstreamUri: FILE }) }), undefined, { videoUri: true });
    expect(byUri.input[0]).toEqual({ type: 'video', mime_type: 'video/mp4', uri: FILE });
    expect(checkInteractionBody(byUri)).toBeNull();
    expect(checkInteractionBody(byUri, [], () => false)).toEqual({ status: 404, code: 'not_found', message: 'File files/abc123 is not found or has expired.' });
  });

  it('every mode at every length, size and aspect the catalog offers Omni is accepted', () => {
    const omni = catalog.find(OMNI)!;
    const modes: Partial<UpstreamJob>[] = [
      { images: [PNG, JPEG] }, { images: [PNG], referenceImages: [JPEG, JPEG, JPEG] }, { images: [], referenceImages: [PNG] }, { images: [], extend: source() },
    ];
    let n = 0;
    for (const seconds of omni.seconds) for (const resolution of omni.sizes) for (const aspectRatio of omni.aspect_ratios) for (const mode of modes) {
      expect(checkInteractionBody(omniRequest(job(OMNI, { seconds, resolution, aspectRatio, ...mode })))).toBeNull();
      n++;
    }
    expect(n).toBe(omni.seconds.length * omni.sizes.length * omni.aspect_ratios.length * modes.length);
  });

  it('the fake refuses a task without its input, a bad video part; the adapter refuses impossible combinations', () => {
    const ext = omniRequest(job(OMNI, { images: [], extend: source() }));
    expect(checkInteractionBody({ ...ext, input: [{ type: 'text', text: 'x' }] })?.message).toBe('extend needs exactly one video in input (got 0).');
    expect(checkInteractionBody({ ...ext, input: [{ type: 'video', mime_type: 'video/x-unknown', data: b64(clip()) }] })?.message).toContain('unsupported video type');
    expect(checkInteractionBody({ ...ext, input: [{ type: 'video', mime_type: 'video/mp4', data: b64(PNG) }] })?.message).toBe('input[0].data could not be decoded as video/mp4.');
    expect(checkInteractionBody({ ...ext, input: [{ type: 'video', mime_type: 'video/mp4', uri: 'gs://b/x.mp4' }] })?.message).toContain('is not a Files API URI');
    const refs = omniRequest(job(OMNI, { images: [], referenceImages: [PNG] }));
    expect(checkInteractionBody({ ...refs, input: [{ type: 'text', text: 'x' }] })?.message).toBe('reference_to_video needs at least one reference image in input.');
    expect(omniInputProblem(job(OMNI, { images: [PNG, JPEG], referenceImages: [PNG] }))).toBe('Omni cannot combine a last frame with reference images');
    expect(omniInputProblem(job(OMNI, { extend: source() }))).toContain('continues the video alone');
  });
});
