import { z } from 'zod';
import type { Route } from '../route.ts';
import type { Catalog, ModelSpec } from '../../domain/catalog.ts';

const ReferenceCaps = z.object({
  max: z.number().int().describe('most pictures in reference_images (with the start image, when it counts)'),
  start_image_counts: z.boolean().describe('the start image is sent as one of them, so it counts toward max'),
  only: z.boolean().describe('renders from references only: the start image is the first reference'),
  seconds: z.array(z.number()).nullable().describe('durations allowed with references, where narrower than seconds'),
});
const ExtensionCaps = z.object({
  seconds: z.array(z.number()).describe('what an extension adds (the task\'s seconds)'),
  sizes: z.array(z.string()).describe('the sizes an extension renders'),
  max_source_seconds: z.number().nullable(),
  source_sizes: z.array(z.string()).nullable().describe('the sizes of video it continues'),
  source_fps: z.array(z.number()).nullable(),
});

export const ModelList = z.object({
  object: z.literal('list'),
  data: z.array(z.object({
    id: z.string(), object: z.literal('model'), display_name: z.string(), family: z.string(),
    provider: z.string().describe('who serves it first: an upstream provider with a channel for it, else local'),
    providers: z.array(z.string()).describe('providers that can serve it now (channels not resting, or local)'),
    available: z.boolean().describe('some channel or the local renderer can serve it now'),
    aliases: z.array(z.string()).describe('other names accepted for it in "model" (any case)'),
    deprecated: z.boolean(), successor: z.string().nullable().describe('the model to move to when deprecated'),
    seconds: z.array(z.number()), default_seconds: z.number(), seconds_with_images: z.number().nullable(),
    seconds_by_size: z.record(z.string(), z.array(z.number())).describe('sizes that allow only these durations (e.g. Veo 3.1: 1080p and 4k at 8 s)'),
    sizes: z.array(z.object({ name: z.string(), landscape: z.string(), portrait: z.string() })),
    default_size: z.string(), aspect_ratios: z.array(z.string()), audio: z.boolean(),
    last_frame: z.boolean().describe('images[1] is the last frame'),
    last_frame_seconds: z.array(z.number()).nullable().describe('durations allowed with a last frame, where narrower than seconds'),
    reference_images: ReferenceCaps.nullable().describe('what reference_images it takes; null: none'),
    extension: ExtensionCaps.nullable().describe('whether it continues a succeeded task (extend_task_id); null: no'),
    pricing: z.object({
      credits_per_second: z.record(z.string(), z.number()), audio_credits_per_second: z.number(),
      reference_image_credits: z.number().describe('per reference image'),
      is_rec_surcharge: z.number(), off_peak_discount: z.number(),
    }).describe('price = ceil((seconds × (credits_per_second[size] + audio) + reference images × reference_image_credits + is_rec) × (1 − off_peak_discount if off_peak)); an extension\'s seconds are the ones it adds'),
  })),
});

export function modelsRoute(catalog: Catalog, providerFor: (model: string) => string,
  availability: (model: string) => Promise<{ available: boolean; providers: string[] }>): Route {
  return {
    doc: {
      method: 'GET', url: '/v1/models', tag: 'Models', auth: 'apiKey',
      summary: 'The model catalog: durations, sizes, aspect ratios, audio, and who serves each',
      responses: { 200: { description: 'Models', schema: ModelList } },
    },
    async handler() {
      const avail = await Promise.all(catalog.models.map((m) => availability(m.id)));
      return {
        object: 'list' as const,
        data: catalog.models.map((m, i) => ({
          id: m.id, object: 'model' as const, display_name: m.display_name, family: m.family, provider: providerFor(m.id),
          ...avail[i]!, aliases: m.aliases ?? [], deprecated: m.deprecated ?? false, successor: m.successor ?? null,
          seconds: m.seconds, default_seconds: m.default_seconds, seconds_with_images: m.seconds_with_images,
          seconds_by_size: m.seconds_by_size ?? {},
          sizes: m.sizes.map((s) => {
            const l = catalog.dimensions(s, '16:9'), p = catalog.dimensions(s, '9:16');
            return { name: s, landscape: `${l.width}x${l.height}`, portrait: `${p.width}x${p.height}` };
          }),
          default_size: m.default_size, aspect_ratios: m.aspect_ratios, audio: m.audio, ...creativeCaps(m),
          pricing: {
            credits_per_second: m.price_per_second, audio_credits_per_second: m.audio_price_per_second,
            reference_image_credits: m.reference_images?.price_per_image ?? 0,
            is_rec_surcharge: catalog.pricing.is_rec_surcharge, off_peak_discount: catalog.pricing.off_peak_discount,
          },
        })),
      };
    },
  };
}

/** The creative inputs a model takes (API.md §3), as GET /v1/models shows them. */
function creativeCaps(m: ModelSpec) {
  const r = m.reference_images, e = m.extension;
  return {
    last_frame: m.last_frame,
    last_frame_seconds: m.last_frame_seconds ?? null,
    reference_images: r ? { max: r.max, start_image_counts: r.start_image_counts, only: r.only, seconds: r.seconds ?? null } : null,
    extension: e ? {
      seconds: e.seconds, sizes: e.sizes ?? m.sizes, max_source_seconds: e.max_source_seconds ?? null,
      source_sizes: e.source_sizes ?? null, source_fps: e.source_fps ?? null,
    } : null,
  };
}
