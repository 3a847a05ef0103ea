import type { Config } from '../config.ts';
import type { VideoProvider } from './provider.ts';
import type { OutboundPolicy } from './upstream/download.ts';
import { upstreamProvider, type UpstreamAdapter, type UpstreamName } from './upstream/upstream-provider.ts';
import { geminiAdapter } from './gemini/gemini-adapter.ts';
import { vertexAdapter } from './vertex/vertex-adapter.ts';
import { viduAdapter } from './vidu/vidu-adapter.ts';

/** A generated clip is tens of MB; 500 MB bounds disk use per task. */
const MAX_VIDEO_BYTES = 500 * 1024 * 1024;
/** A 500 MB transfer at a slow 10 Mbit/s still fits. */
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

/** The configured upstream channels (only those with credentials), each a VideoProvider with submit-time failover. */
export function upstreamProviders(u: Config['upstreams'], policy: OutboundPolicy): Record<string, VideoProvider> {
  const common = { requestTimeoutMs: u.requestTimeoutMs, download: { maxBytes: MAX_VIDEO_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS }, policy };
  const adapters: Partial<Record<UpstreamName, UpstreamAdapter>> = {};
  if (u.gemini) adapters.gemini = geminiAdapter({ ...common, ...u.gemini });
  if (u.vertex) adapters.vertex = vertexAdapter({ ...common, ...u.vertex });
  if (u.vidu) adapters.vidu = viduAdapter({ ...common, ...u.vidu });
  const timing = { pollMs: u.pollMs, maxWaitMs: u.maxWaitMs };
  return Object.fromEntries(Object.keys(adapters).map((name) => [name, upstreamProvider(name as UpstreamName, adapters, timing)]));
}
