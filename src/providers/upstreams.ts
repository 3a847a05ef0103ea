import type { Config } from '../config.ts';
import type { ChannelConfig } from './upstream/channel-config.ts';
import { rateBucket } from '../infra/rate-bucket.ts';
import type { OutboundPolicy } from './upstream/download.ts';
import type { Channel } from './upstream/channels.ts';
import type { UpstreamAdapter } from './upstream/upstream-provider.ts';
import { geminiAdapter } from './gemini/gemini-adapter.ts';
import { vertexAdapter } from './vertex/vertex-adapter.ts';
import { viduAdapter } from './vidu/vidu-adapter.ts';
import { openAiVideosAdapter } from './openai-videos/openai-videos-adapter.ts';
import { viduCallbackUrl } from './vidu/callback.ts';
import { readServiceAccountKeyFile, serviceAccountTokenSource, staticTokenSource } from './vertex/service-account.ts';

/** A generated clip is tens of MB; 500 MB bounds disk use per task. */
const MAX_VIDEO_BYTES = 500 * 1024 * 1024;

export interface ChannelWiring {
  policy: OutboundPolicy;
  /** Reelay's public base URL (read when a task is submitted: with PORT=0 it is known only after listen). */
  publicBase: () => string;
}

/** The configured upstream channels (only those with credentials), each an adapter with its own rate limit. */
export function buildChannels(u: Config['upstreams'], w: ChannelWiring): Channel[] {
  return u.channels.map((c) => ({
    name: c.name, provider: c.provider, priority: c.priority, weight: c.weight,
    models: c.models ? new Map(Object.entries(c.models)) : null,
    rate: rateBucket(c.ratePerSecond),
    adapter: adapterFor(c, u, w),
    // A self-hosted server runs maxConcurrent jobs and is polled at its own short, steady interval.
    ...(c.provider === 'openai-videos' ? { slots: c.maxConcurrent, timing: { pollMs: c.pollMs, maxIntervalMs: c.pollMs } } : {}),
  }));
}

function adapterFor(c: ChannelConfig, u: Config['upstreams'], w: ChannelWiring): UpstreamAdapter {
  const common = { requestTimeoutMs: u.requestTimeoutMs, download: { maxBytes: MAX_VIDEO_BYTES, timeoutMs: u.downloadTimeoutMs }, policy: w.policy };
  switch (c.provider) {
    case 'gemini':
      return geminiAdapter({ ...common, apiKey: c.apiKey, baseUrl: c.baseUrl });
    case 'vertex':
      return vertexAdapter({
        ...common, project: c.project, location: c.location, baseUrl: c.baseUrl, storageUri: c.storageUri, storageBaseUrl: c.storageBaseUrl,
        token: 'accessToken' in c.auth
          ? staticTokenSource(c.auth.accessToken)
          : serviceAccountTokenSource(readServiceAccountKeyFile(c.auth.credentialsFile), { timeoutMs: u.requestTimeoutMs }),
      });
    case 'vidu':
      return viduAdapter({
        ...common, apiKey: c.apiKey, baseUrl: c.baseUrl,
        ...(u.viduCallbacks ? { callbackUrl: (taskId: string) => viduCallbackUrl(w.publicBase(), c.name, taskId) } : {}),
      });
    case 'openai-videos':
      return openAiVideosAdapter({
        ...common, baseUrl: c.baseUrl, apiKey: c.apiKey, dialect: c.dialect, params: c.params,
        // Dynamo may answer the create call only once the video is done.
        createTimeoutMs: c.dialect === 'dynamo' ? Math.max(u.requestTimeoutMs, u.maxWaitMs) : u.requestTimeoutMs,
      });
  }
}
