import { z } from 'zod';
import type { Route } from '../route.ts';
import type { Catalog } from '../../domain/catalog.ts';

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
    default_size: z.string(), aspect_ratios: z.array(z.string()), audio: z.boolean(), last_frame: z.boolean(),
    pricing: z.object({
      credits_per_second: z.record(z.string(), z.number()), audio_credits_per_second: z.number(),
      is_rec_surcharge: z.number(), off_peak_discount: z.number(),
    }).describe('price = ceil((seconds × (credits_per_second[size] + audio) + is_rec) × (1 − off_peak_discount if off_peak))'),
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
          default_size: m.default_size, aspect_ratios: m.aspect_ratios, audio: m.audio, last_frame: m.last_frame,
          pricing: {
            credits_per_second: m.price_per_second, audio_credits_per_second: m.audio_price_per_second,
            is_rec_surcharge: catalog.pricing.is_rec_surcharge, off_peak_discount: catalog.pricing.off_peak_discount,
          },
        })),
      };
    },
  };
}
