import { z } from 'zod';
import raw from './models.json' with { type: 'json' };

// Resolution names are the catalog's own (models.json `resolutions`), so a custom catalog can add one.
const Resolution = z.string().regex(/^[a-z0-9]{1,16}$/);
export type Resolution = string;

const ModelSpec = z.object({
  id: z.string(),
  family: z.enum(['veo', 'vidu']),
  display_name: z.string(),
  seconds: z.array(z.number().int().positive()).nonempty(),
  default_seconds: z.number().int().positive(),
  /** Some models fix the duration whenever a start image is given (Veo 3.1 → 8). */
  seconds_with_images: z.number().int().positive().nullable(),
  sizes: z.array(Resolution).nonempty(),
  default_size: Resolution,
  aspect_ratios: z.array(z.string()).nonempty(),
  audio: z.boolean(),
  last_frame: z.boolean(),
  providers: z.array(z.string()).nonempty(),
  /** Credits per second of output, by resolution; every listed size must be priced. */
  price_per_second: z.record(z.string(), z.number().nonnegative()),
  audio_price_per_second: z.number().nonnegative(),
}).refine((m) => m.sizes.every((s) => s in m.price_per_second), { message: 'every size needs a price_per_second' });
export type ModelSpec = z.infer<typeof ModelSpec>;

const Pricing = z.object({
  is_rec_surcharge: z.number().int().nonnegative(),
  off_peak_discount: z.number().min(0).max(1),
});
export type Pricing = z.infer<typeof Pricing>;

const CatalogFile = z.object({
  fps: z.number().int().positive(),
  pricing: Pricing,
  resolutions: z.record(Resolution, z.object({ landscape: z.tuple([z.number().int().positive(), z.number().int().positive()]), portrait: z.tuple([z.number().int().positive(), z.number().int().positive()]) })),
  models: z.array(ModelSpec).nonempty(),
}).refine((c) => c.models.every((m) => m.sizes.every((s) => s in c.resolutions)), { message: 'every model size must be a listed resolution' });

export interface Catalog {
  readonly fps: number;
  readonly pricing: Pricing;
  readonly models: readonly ModelSpec[];
  find(id: string): ModelSpec | undefined;
  ids(): string[];
  /** Output pixels for a resolution name in the orientation of the aspect ratio. */
  dimensions(size: Resolution, aspectRatio: string): { width: number; height: number };
  /** `1280x720` → `720p` when the pixels name a known resolution in either orientation. */
  resolutionForPixels(width: number, height: number): Resolution | undefined;
  isResolution(name: string): boolean;
}

/** Parse a catalog document; throws with every problem listed if the file is malformed. */
export function loadCatalog(doc: unknown = raw): Catalog {
  const file = CatalogFile.parse(doc);
  const byId = new Map(file.models.map((m) => [m.id, m]));
  const res = file.resolutions as Record<string, { landscape: [number, number]; portrait: [number, number] }>;
  return {
    fps: file.fps,
    pricing: file.pricing,
    models: file.models,
    find: (id) => byId.get(id),
    ids: () => [...byId.keys()],
    dimensions(size, aspectRatio) {
      const d = res[size];
      if (!d) throw new Error(`unknown resolution ${size}`);
      // Square (Vidu's 1:1): the resolution names the short side, so 720p is 720×720.
      if (aspectRatio === '1:1') {
        const side = Math.min(...d.landscape);
        return { width: side, height: side };
      }
      const [w, h] = isPortrait(aspectRatio) ? d.portrait : d.landscape;
      return { width: w, height: h };
    },
    isResolution: (name) => Object.hasOwn(res, name),
    resolutionForPixels(width, height) {
      for (const [name, d] of Object.entries(res)) {
        const square = width === height && width === Math.min(...d.landscape);
        if (square || (d.landscape[0] === width && d.landscape[1] === height) || (d.portrait[0] === width && d.portrait[1] === height)) {
          return name as Resolution;
        }
      }
      return undefined;
    },
  };
}

export function isPortrait(aspectRatio: string): boolean {
  const [w, h] = aspectRatio.split(':').map(Number);
  return (h ?? 0) > (w ?? 0);
}
