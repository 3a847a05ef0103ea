import type { UpstreamLimits } from './catalog.ts';
import { errors } from './errors.ts';

interface Asked { seconds: number; resolution: string }

/** Why an upstream id cannot render this request (a sentence), or null when it can. */
export function upstreamRefusal(upstreamModel: string, limits: UpstreamLimits | undefined, a: Asked): { param: 'seconds' | 'size'; why: string } | null {
  if (!limits) return null;
  if (limits.sizes && !limits.sizes.includes(a.resolution)) {
    return { param: 'size', why: `${upstreamModel} renders ${limits.sizes.join(', ')}, not ${a.resolution}` };
  }
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
    `${publicModel} is served here by ${[...new Set(upstreams)].join(', ')}, which cannot render this: ${unique.join('; ')}.`,
    first.param === 'seconds' ? 'invalid_seconds' : 'invalid_size');
}
