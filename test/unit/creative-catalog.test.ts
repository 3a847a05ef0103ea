/**
 * The catalog's creative capabilities agree with the strict fakes (built from
 * UPSTREAM.md, not from our adapters): every Vidu model × input (a start image,
 * a last frame, references) × length × size the catalog accepts at submit
 * becomes, through the worker's job building and the adapter's endpoint plan,
 * a body the Vidu fake accepts — and what the catalog refuses, Vidu refuses
 * too, so the catalog is neither looser nor needlessly stricter. Veo 3.1's
 * references likewise against the Vertex fake.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog, type ModelSpec } from '../../src/domain/catalog.ts';
import { isApiError } from '../../src/domain/errors.ts';
import { applySubmitRules, parseSubmitShape } from '../../src/domain/submit-rules.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { vertexRequest } from '../../src/providers/vertex/request-mapping.ts';
import { viduEndpoint } from '../../src/providers/vidu/endpoint-plan.ts';
import { viduRequest } from '../../src/providers/vidu/request-mapping.ts';
import { jobInputs } from '../../src/worker/job-inputs.ts';
import type { TaskRow } from '../../src/infra/db/schema.ts';
import { checkBody } from '../fakes/vertex.ts';
import { checkCreate } from '../fakes/vidu.ts';

const catalog = loadCatalog();
const B64 = Buffer.from('not really a png').toString('base64');
const URI = 'data:image/png;base64,iVBORw0KGgo=';
const IMG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

type Inputs = { frames: number; references: number };
const MODES: Record<string, (m: ModelSpec) => Inputs[]> = {
  start: () => [{ frames: 1, references: 0 }],
  last: () => [{ frames: 2, references: 0 }],
  references: (m) => [1, 2, Math.max(1, (m.reference_images?.max ?? 3) - 1)].map((references) => ({ frames: 1, references })),
};

/** The catalog's verdict on a submit, as the native API would give it. */
function accepted(m: ModelSpec, i: Inputs, seconds: number, size: string): boolean {
  try {
    applySubmitRules(parseSubmitShape({
      model: m.id, prompt: 'the fox from the pictures runs', aspect_ratio: '16:9', seconds, size,
      images: Array(i.frames).fill(B64), ...(i.references ? { reference_images: Array(i.references).fill(B64) } : {}),
    }), catalog, { allowPrivateUrls: false });
    return true;
  } catch (e) {
    if (isApiError(e) && e.status === 400) return false;
    throw e;
  }
}

/** The job as the worker builds it from the stored task (job-inputs.ts), then the upstream body. */
async function viduVerdict(m: ModelSpec, i: Inputs, seconds: number, size: string): Promise<string | null> {
  const keys = [...Array(i.frames).keys()].map((n) => `f${n}`);
  const refs = [...Array(i.references).keys()].map((n) => `r${n}`);
  const row = { input_keys: JSON.stringify([...keys, ...refs]), reference_keys: JSON.stringify(refs), extend_task_id: null } as unknown as TaskRow;
  const inputs = await jobInputs({ blobs: { get: async () => IMG, stat: async () => undefined }, tasks: { find: async () => undefined } }, row, m);
  const job: UpstreamJob = {
    taskId: 't', model: m, upstreamModel: catalog.defaultUpstreamModel(m, 'vidu'), prompt: 'the fox from the pictures runs', negativePrompt: null,
    aspectRatio: '16:9', seconds, ...catalog.dimensions(size, '16:9'), fps: 24, seed: 1, generateAudio: true, options: {}, ...inputs,
  };
  const plan = viduEndpoint(job);
  if ('problem' in plan) return plan.problem;
  const sent = plan.endpoint === 'reference2video' ? job.images.length + job.referenceImages!.length : job.images.length;
  return checkCreate(plan.endpoint, viduRequest(job, Array(sent).fill(URI), undefined, plan.endpoint))?.message ?? null;
}

describe('catalog × the strict fakes', () => {
  it('Vidu: what the catalog accepts, Vidu accepts; what it refuses, Vidu refuses', async () => {
    const vidu = catalog.models.filter((m) => m.providers.includes('vidu'));
    expect(vidu.map((m) => m.id)).toEqual(expect.arrayContaining(['viduq3', 'viduq3-mix', 'viduq4-preview', 'viduq1']));
    let agreed = 0;
    for (const m of vidu) for (const [mode, inputsOf] of Object.entries(MODES)) for (const i of inputsOf(m)) {
      // reference2video has no frames at all: a last frame there means nothing, and the catalog says so.
      if (m.reference_images?.only && i.frames > 1) {
        expect(accepted(m, i, m.default_seconds, m.default_size)).toBe(false);
        continue;
      }
      for (const seconds of m.seconds) for (const size of m.sizes) {
        const ours = accepted(m, i, seconds, size);
        const theirs = await viduVerdict(m, i, seconds, size);
        expect({ model: m.id, mode, ...i, seconds, size, accepted: ours, vidu: theirs ?? 'accepted' })
          .toEqual({ model: m.id, mode, ...i, seconds, size, accepted: theirs === null, vidu: theirs ?? 'accepted' });
        agreed++;
      }
    }
    expect(agreed).toBeGreaterThan(500);
  });

  it('Veo 3.1 references: the start image and up to 2 more, at every size, as Vertex takes them', () => {
    for (const m of catalog.models.filter((x) => x.reference_images && x.providers.includes('vertex'))) {
      const upstreamModel = catalog.defaultUpstreamModel(m, 'vertex');
      for (const size of m.sizes) for (const references of [1, 2]) {
        expect(accepted(m, { frames: 1, references }, 8, size)).toBe(true);
        const job: UpstreamJob = {
          taskId: 't', model: m, upstreamModel, prompt: 'the same fox', negativePrompt: null, aspectRatio: '16:9', seconds: 8,
          ...catalog.dimensions(size, '16:9'), fps: 24, seed: 1, generateAudio: true, options: {}, images: [IMG], referenceImages: Array(references).fill(IMG),
        };
        expect([m.id, size, references, checkBody(vertexRequest(job), upstreamModel)]).toEqual([m.id, size, references, null]);
      }
      expect(accepted(m, { frames: 1, references: 3 }, 8, '720p')).toBe(false);
    }
  });
});
