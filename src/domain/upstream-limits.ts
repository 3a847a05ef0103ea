import type { UpstreamLimits } from './catalog.ts';
import { errors } from './errors.ts';

/** What a request asks of an upstream: its length and size, and the creative inputs it carries. */
export interface Asked {
  seconds: number;
  resolution: string;
  startImage?: boolean;
  lastFrame?: boolean;
  /** How many `reference_images` (a start image sent among them is counted by the upstream's own rule). */
  references?: number;
  extension?: boolean;
}

type Param = 'seconds' | 'size' | 'images' | 'reference_images' | 'extend_task_id';
type Refusal = { param: Param; why: string } | null;

/** The creative inputs (API.md §3) an upstream id lacks, or null. */
function creativeRefusal(id: string, l: UpstreamLimits, a: Asked): Refusal {
  const refs = a.references ?? 0;
  if (a.extension && l.extension === false) return { param: 'extend_task_id', why: `${id} cannot extend a video` };
  if (refs > 0 && l.reference_images === null) return { param: 'reference_images', why: `${id} takes no reference images` };
  if (refs > 0 && l.reference_images) {
    const counted = l.reference_images.start_image_counts && a.startImage;
    const n = refs + (counted ? 1 : 0);
    if (n > l.reference_images.max) {
      return { param: 'reference_images', why: `${id} takes at most ${l.reference_images.max} reference images${counted ? ', the start image counted as one' : ''}, not ${n}` };
    }
  }
  if (l.needs_references && refs === 0 && !a.extension) return { param: 'reference_images', why: `${id} renders from reference images only` };
  if (a.lastFrame && l.last_frame === false) return { param: 'images', why: `${id} takes no last frame` };
  if (a.lastFrame && l.last_frame_seconds && !l.last_frame_seconds.includes(a.seconds)) {
    return { param: 'seconds', why: `${id} renders a last frame only at ${l.last_frame_seconds.join(', ')} seconds, not ${a.seconds}` };
  }
  return null;
}

/** Why an upstream id cannot render this request (a sentence), or null when it can. */
export function upstreamRefusal(upstreamModel: string, limits: UpstreamLimits | undefined, a: Asked): Refusal {
  if (!limits) return null;
  if (limits.sizes && !limits.sizes.includes(a.resolution)) {
    return { param: 'size', why: `${upstreamModel} renders ${limits.sizes.join(', ')}, not ${a.resolution}` };
  }
  const creative = creativeRefusal(upstreamModel, limits, a);
  if (creative) return creative;
  // An extension's seconds are what it adds, by the model's extension rules, not a clip length.
  if (a.extension) return null;
  const bySize = limits.seconds_by_size?.[a.resolution];
  if (bySize && !bySize.includes(a.seconds)) {
    return { param: 'seconds', why: `${upstreamModel} renders ${a.resolution} only at ${bySize.join(' or ')} seconds, not ${a.seconds}` };
  }
  if (limits.seconds && !limits.seconds.includes(a.seconds)) {
    return { param: 'seconds', why: `${upstreamModel} renders ${limits.seconds.join(', ')} seconds, not ${a.seconds}` };
  }
  return null;
}

/**
 * A request is sent upstream only if some channel's upstream model can honour
 * it; otherwise it is refused here with the rule and the upstream model named,
 * never sent to fail there (API.md §6). No upstream ids: the local renderer.
 */
export function assertSomeUpstreamHonours(publicModel: string, upstreams: readonly string[], limitsOf: (id: string) => UpstreamLimits | undefined, a: Asked): void {
  if (upstreams.length === 0) return;
  const refusals = upstreams.map((u) => upstreamRefusal(u, limitsOf(u), a));
  if (refusals.some((r) => r === null)) return;
  const first = refusals[0]!;
  const unique = [...new Set(refusals.map((r) => r!.why))];
  throw errors.invalidField(first.param,
    `${publicModel} is served here by ${[...new Set(upstreams)].join(', ')}, which cannot render this: ${unique.join('; ')}.`);
}
