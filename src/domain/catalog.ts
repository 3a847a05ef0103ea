import { z } from 'zod';
import raw from './models.json' with { type: 'json' };

// Resolution names are the catalog's own (models.json `resolutions`), so an operator catalog can add one.
const Resolution = z.string().regex(/^[a-z0-9]{1,16}$/);
export type Resolution = string;
const Seconds = z.array(z.number().int().positive()).nonempty();

/** How many pictures of a subject an upstream id takes (`reference_images` of API.md §3). */
const UpstreamReferences = z.object({
  max: z.number().int().positive(),
  /** The start image, when the request has one, is sent as one of them (Veo, Vidu), so it counts toward max. */
  start_image_counts: z.boolean().default(false),
}).strict();

/** What an upstream id can do where it is narrower than the public model mapped to it. */
const UpstreamLimits = z.object({
  seconds: Seconds.optional(),
  sizes: z.array(Resolution).nonempty().optional(),
  /** Sizes that allow only some durations (Veo 3.1: 1080p and 4k only at 8 s). */
  seconds_by_size: z.record(Resolution, Seconds).optional(),
  /** false: no last frame (images[1]). */
  last_frame: z.boolean().optional(),
  /** Durations allowed with a last frame (Vidu Q2's start-end: 1–8 s). */
  last_frame_seconds: Seconds.optional(),
  /** null: no reference images. */
  reference_images: UpstreamReferences.nullable().optional(),
  /** It makes videos from reference images only (Vidu's reference2video models). */
  needs_references: z.boolean().optional(),
  /** false: it cannot continue a video. */
  extension: z.boolean().optional(),
}).strict();
export type UpstreamLimits = z.infer<typeof UpstreamLimits>;

/** `reference_images` (API.md §3): pictures of a person, character or product to keep in the video. */
const ReferenceRules = UpstreamReferences.extend({
  /** Durations allowed with references (Veo 3.1: 8 only). */
  seconds: Seconds.optional(),
  /**
   * The model makes videos from references only (Vidu's reference2video
   * models): the start image in `images` is sent as the first reference.
   */
  only: z.boolean().default(false),
  /** Credits per reference image, on top of the seconds. */
  price_per_image: z.number().nonnegative().default(0),
}).strict();
export type ReferenceRules = z.infer<typeof ReferenceRules>;

/** `extend_task_id` (API.md §3): continuing a succeeded task's video; `seconds` is what an extension adds. */
const ExtensionRules = z.object({
  /** What an extension may add (Veo 3.1: its fixed 7 s). */
  seconds: Seconds,
  /** The sizes an extension renders (Veo: 720p only); the model's when absent. */
  sizes: z.array(Resolution).nonempty().optional(),
  /** The longest video the model continues (Vertex: 30 s). */
  max_source_seconds: z.number().positive().optional(),
  /** The sizes of video it continues (Vertex: 720p, 1080p, 4k), by the source's measured pixels. */
  source_sizes: z.array(Resolution).nonempty().optional(),
  /** The frame rates of video it continues (Vertex: 24). */
  source_fps: z.array(z.number().positive()).nonempty().optional(),
}).strict();
export type ExtensionRules = z.infer<typeof ExtensionRules>;

const ModelSpec = z.object({
  /** The public name clients send; never changes, even after its upstream is retired. */
  id: z.string().min(1).max(128),
  /** Free text (veo, vidu, wan, …); `vidu` enables Vidu's own audio options. */
  family: z.string().min(1).max(64),
  display_name: z.string(),
  seconds: Seconds,
  default_seconds: z.number().int().positive(),
  /** Some models fix the duration whenever a start image is given (the Veo 3.1 previews → 8). */
  seconds_with_images: z.number().int().positive().nullable(),
  seconds_by_size: z.record(Resolution, Seconds).optional(),
  sizes: z.array(Resolution).nonempty(),
  default_size: Resolution,
  aspect_ratios: z.array(z.string()).nonempty(),
  audio: z.boolean(),
  /** images[1] is the last frame. */
  last_frame: z.boolean(),
  /** Durations allowed with a last frame, where narrower than `seconds` (Vidu Q2: 1–8 s). */
  last_frame_seconds: Seconds.optional(),
  /** null: the model takes no reference images. */
  reference_images: ReferenceRules.nullable().default(null),
  /** null: the model cannot extend a video. */
  extension: ExtensionRules.nullable().default(null),
  /** Who may serve it, in order of preference: upstream providers with a channel for it, then `local`. */
  providers: z.array(z.string()).nonempty(),
  /** The upstream id per provider when it differs from the public name (Google's migration table). */
  upstream: z.record(z.string(), z.string().min(1)).optional(),
  /** Other names clients send for it, matched without regard to case (the vendor doc's example says `Veoq3-turbo`). */
  aliases: z.array(z.string().min(1).max(128)).optional(),
  deprecated: z.boolean().optional(),
  /** The model to move to, for deprecated names. */
  successor: z.string().nullable().optional(),
  /** Credits per second of output, by resolution; every listed size must be priced. */
  price_per_second: z.record(z.string(), z.number().nonnegative()),
  audio_price_per_second: z.number().nonnegative(),
}).refine((m) => m.sizes.every((s) => s in m.price_per_second), { message: 'every size needs a price_per_second' })
  .refine((m) => m.seconds.includes(m.default_seconds), { message: 'default_seconds must be one of seconds' })
  .refine((m) => m.sizes.includes(m.default_size), { message: 'default_size must be one of sizes' });
export type ModelSpec = z.infer<typeof ModelSpec>;

const Pricing = z.object({
  is_rec_surcharge: z.number().int().nonnegative(),
  off_peak_discount: z.number().min(0).max(1),
});
export type Pricing = z.infer<typeof Pricing>;

const Dimensions = z.tuple([z.number().int().positive(), z.number().int().positive()]);
const Resolutions = z.record(Resolution, z.object({ landscape: Dimensions, portrait: Dimensions }));
const UpstreamModels = z.record(z.string(), z.union([UpstreamLimits, z.string()]));

const CatalogFile = z.object({
  fps: z.number().int().positive(),
  pricing: Pricing,
  resolutions: Resolutions,
  upstream_models: UpstreamModels.optional(),
  models: z.array(ModelSpec).nonempty(),
});
type CatalogDoc = z.infer<typeof CatalogFile>;

/** An operator's file (REELAY_CATALOG): the same fields, each optional but `models`; its models are added, same ids replace. */
const OperatorFile = CatalogFile.partial().required({ models: true });

export interface Catalog {
  readonly fps: number;
  readonly pricing: Pricing;
  readonly models: readonly ModelSpec[];
  find(id: string): ModelSpec | undefined;
  /** A model by its id, or by one of its aliases (any case). */
  resolve(name: string): ModelSpec | undefined;
  ids(): string[];
  /** The upstream id a provider's channel calls for a public model, unless the channel maps it itself. */
  defaultUpstreamModel(model: ModelSpec, provider: string): string;
  /** Narrower limits of an upstream id, if the catalog knows any. */
  upstreamLimits(upstreamModel: string): UpstreamLimits | undefined;
  /** Output pixels for a resolution name in the orientation of the aspect ratio. */
  dimensions(size: Resolution, aspectRatio: string): { width: number; height: number };
  /** `1280x720` → `720p` when the pixels name a known resolution in either orientation. */
  resolutionForPixels(width: number, height: number): Resolution | undefined;
  isResolution(name: string): boolean;
}

/** Issues as `path: message` lines, for a boot error that names the field. */
const describe = (e: z.ZodError, prefix: string) => e.issues.map((i) => `${prefix}${i.path.map(String).join('.')}: ${i.message}`);

export class CatalogError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid catalog:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'CatalogError';
    this.problems = problems;
  }
}

/** Merge an operator's catalog over the built-in one: models added or replaced by id, resolutions and upstream limits added. */
function merge(base: CatalogDoc, extra: z.infer<typeof OperatorFile>): CatalogDoc {
  const models = new Map(base.models.map((m) => [m.id, m]));
  for (const m of extra.models) models.set(m.id, m);
  return {
    fps: extra.fps ?? base.fps,
    pricing: extra.pricing ?? base.pricing,
    resolutions: { ...base.resolutions, ...extra.resolutions },
    upstream_models: { ...base.upstream_models, ...extra.upstream_models },
    models: [...models.values()] as CatalogDoc['models'],
  };
}

function check(doc: CatalogDoc): string[] {
  const problems: string[] = [];
  for (const m of doc.models) {
    for (const s of m.sizes) if (!Object.hasOwn(doc.resolutions, s)) problems.push(`models.${m.id}.sizes: ${s} is not a listed resolution`);
    for (const s of m.extension?.sizes ?? []) if (!m.sizes.includes(s)) problems.push(`models.${m.id}.extension.sizes: ${s} is not one of the model's sizes`);
    for (const s of m.extension?.source_sizes ?? []) if (!Object.hasOwn(doc.resolutions, s)) problems.push(`models.${m.id}.extension.source_sizes: ${s} is not a listed resolution`);
    if (m.reference_images?.only && (m.last_frame || !m.reference_images.start_image_counts)) {
      problems.push(`models.${m.id}.reference_images: a model that renders from references only sends the start image as one (start_image_counts) and takes no last frame`);
    }
    if (m.successor && !doc.models.some((x) => x.id === m.successor)) problems.push(`models.${m.id}.successor: no model ${m.successor}`);
  }
  const names = new Map<string, string>();
  for (const m of doc.models) {
    for (const a of m.aliases ?? []) {
      const k = a.toLowerCase();
      const owner = names.get(k) ?? doc.models.find((x) => x.id.toLowerCase() === k && x.id !== m.id)?.id;
      if (owner && owner !== m.id) problems.push(`models.${m.id}.aliases: ${a} already names ${owner}`);
      names.set(k, m.id);
    }
  }
  return problems;
}

/**
 * Parse the built-in catalog, and an operator's file over it when given;
 * throws a CatalogError listing every problem if either is malformed.
 */
export function loadCatalog(operatorDoc?: unknown, builtIn: unknown = raw): Catalog {
  const base = CatalogFile.safeParse(builtIn);
  if (!base.success) throw new CatalogError(describe(base.error, 'built-in catalog: '));
  let doc = base.data;
  if (operatorDoc !== undefined) {
    const extra = OperatorFile.safeParse(operatorDoc);
    if (!extra.success) throw new CatalogError(describe(extra.error, 'REELAY_CATALOG: '));
    doc = merge(doc, extra.data);
  }
  const problems = check(doc);
  if (problems.length) throw new CatalogError(problems);
  return buildCatalog(doc);
}

function buildCatalog(file: CatalogDoc): Catalog {
  const byId = new Map(file.models.map((m) => [m.id, m]));
  const byAlias = new Map(file.models.flatMap((m) => (m.aliases ?? []).map((a) => [a.toLowerCase(), m] as const)));
  const res = file.resolutions;
  const limits = new Map(Object.entries(file.upstream_models ?? {}).flatMap(([k, v]) => (typeof v === 'string' ? [] : [[k, v] as const])));
  return {
    fps: file.fps,
    pricing: file.pricing,
    models: file.models,
    find: (id) => byId.get(id),
    resolve: (name) => byId.get(name) ?? byAlias.get(name.toLowerCase()),
    ids: () => [...byId.keys()],
    defaultUpstreamModel: (model, provider) => model.upstream?.[provider] ?? model.id,
    upstreamLimits: (id) => limits.get(id),
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
