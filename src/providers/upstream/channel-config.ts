import { resolve } from 'node:path';
import { z } from 'zod';
import { vertexBaseUrl } from '../vertex/endpoint.ts';
import { OpenAiVideosChannelSchema, videosBaseUrl, type OpenAiVideosChannel } from './openai-videos-config.ts';

/** Each provider's public endpoint; `*_BASE_URL` and a channel's `baseUrl` point elsewhere (a proxy, a fake). */
export const DEFAULT_BASE_URLS = {
  gemini: 'https://generativelanguage.googleapis.com',
  vidu: 'https://api.vidu.com/ent/v2',
  vertexStorage: 'https://storage.googleapis.com',
} as const;

const channelName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and -');
const modelId = z.string().min(1).max(128);
/**
 * A list of public ids keeps each model's default upstream id; an object
 * maps public id → the upstream id this channel calls (null: the default)
 * (API.md §12).
 */
const ModelsField = z.union([
  z.array(modelId).nonempty().transform((ids) => Object.fromEntries(ids.map((id) => [id, null])) as Record<string, string | null>),
  // null in the object form: that model's default upstream id.
  z.record(modelId, modelId.nullable()).refine((m) => Object.keys(m).length > 0, 'map at least one model'),
]);
const ChannelCommon = {
  name: channelName,
  /** Higher is tried first; equal priorities follow the model's provider order. */
  priority: z.number().int().min(-1000).max(1000).default(0),
  weight: z.number().positive().max(1_000_000).default(1),
  /** The public models this channel serves (default: every model listing its provider, under its default upstream id). */
  models: ModelsField.nullable().default(null),
  ratePerSecond: z.number().positive().max(100_000).optional(),
};
export const ChannelSchema = z.discriminatedUnion('provider', [
  z.object({ ...ChannelCommon, provider: z.literal('gemini'), apiKey: z.string().min(1), baseUrl: z.url().default(DEFAULT_BASE_URLS.gemini) }).strict(),
  z.object({
    ...ChannelCommon, provider: z.literal('vertex'), project: z.string().min(1),
    location: z.string().regex(/^[a-z0-9-]{1,64}$/).default('us-central1'),
    accessToken: z.string().min(1).optional(), credentialsFile: z.string().min(1).optional(),
    baseUrl: z.url().optional(), storageUri: z.string().regex(/^gs:\/\//).optional(), storageBaseUrl: z.url().optional(),
  }).strict().refine((c) => (c.accessToken === undefined) !== (c.credentialsFile === undefined), 'give accessToken or credentialsFile (one of them)'),
  z.object({ ...ChannelCommon, provider: z.literal('vidu'), apiKey: z.string().min(1), baseUrl: z.url().default(DEFAULT_BASE_URLS.vidu) }).strict(),
  // A self-hosted server (vLLM-Omni, SGLang Diffusion, NVIDIA Dynamo): it serves only what it maps.
  OpenAiVideosChannelSchema({ ...ChannelCommon, models: ModelsField }),
]);

interface ChannelBase {
  readonly name: string; readonly priority: number; readonly weight: number; readonly ratePerSecond: number;
  /** public id → upstream id (null: the model's default for this provider); null: every model of the provider. */
  readonly models: Readonly<Record<string, string | null>> | null;
}
/** One upstream channel: credentials live here and nowhere else; nothing logs or returns it. */
export type ChannelConfig = ChannelBase & (
  | { readonly provider: 'gemini'; readonly apiKey: string; readonly baseUrl: string }
  | { readonly provider: 'vertex'; readonly project: string; readonly location: string; readonly baseUrl: string;
      readonly auth: { readonly accessToken: string } | { readonly credentialsFile: string }; readonly storageUri: string | undefined;
      readonly storageBaseUrl: string }
  | { readonly provider: 'vidu'; readonly apiKey: string; readonly baseUrl: string }
  | OpenAiVideosChannel);

/** The simple form's settings (API.md §11), already validated by config.ts. */
export interface SimpleChannelEnv {
  GEMINI_API_KEY?: string | undefined; GEMINI_BASE_URL?: string | undefined;
  VERTEX_PROJECT?: string | undefined; VERTEX_LOCATION: string; VERTEX_ACCESS_TOKEN?: string | undefined;
  GOOGLE_APPLICATION_CREDENTIALS?: string | undefined; VERTEX_BASE_URL?: string | undefined;
  VERTEX_STORAGE_URI?: string | undefined; VERTEX_STORAGE_BASE_URL?: string | undefined;
  VIDU_API_KEY?: string | undefined; VIDU_BASE_URL?: string | undefined;
  REELAY_UPSTREAM_CHANNELS?: string | undefined;
  REELAY_UPSTREAM_RATE_PER_SECOND: number;
}

/** The simple form (one channel per provider, named after it) plus REELAY_UPSTREAM_CHANNELS; problems are pushed, never thrown. */
export function parseChannels(e: SimpleChannelEnv, problems: string[]): ChannelConfig[] {
  const common = { priority: 0, weight: 1, models: null, ratePerSecond: e.REELAY_UPSTREAM_RATE_PER_SECOND };
  const storageBaseUrl = e.VERTEX_STORAGE_BASE_URL ?? DEFAULT_BASE_URLS.vertexStorage;
  const out: ChannelConfig[] = [];
  if (e.GEMINI_API_KEY) out.push({ ...common, name: 'gemini', provider: 'gemini', apiKey: e.GEMINI_API_KEY, baseUrl: e.GEMINI_BASE_URL ?? DEFAULT_BASE_URLS.gemini });
  const vertexAuth = e.VERTEX_ACCESS_TOKEN ? { accessToken: e.VERTEX_ACCESS_TOKEN } : e.GOOGLE_APPLICATION_CREDENTIALS ? { credentialsFile: resolve(e.GOOGLE_APPLICATION_CREDENTIALS) } : null;
  if (e.VERTEX_PROJECT && vertexAuth) {
    out.push({
      ...common, name: 'vertex', provider: 'vertex', project: e.VERTEX_PROJECT, location: e.VERTEX_LOCATION, auth: vertexAuth,
      baseUrl: e.VERTEX_BASE_URL ?? vertexBaseUrl(e.VERTEX_LOCATION), storageUri: e.VERTEX_STORAGE_URI, storageBaseUrl,
    });
  } else if (e.VERTEX_PROJECT && !vertexAuth) {
    problems.push('VERTEX_PROJECT: also set VERTEX_ACCESS_TOKEN or GOOGLE_APPLICATION_CREDENTIALS to enable Vertex AI');
  } else if (!e.VERTEX_PROJECT && e.VERTEX_ACCESS_TOKEN) {
    problems.push('VERTEX_ACCESS_TOKEN: also set VERTEX_PROJECT to enable Vertex AI');
  }
  if (e.VIDU_API_KEY) out.push({ ...common, name: 'vidu', provider: 'vidu', apiKey: e.VIDU_API_KEY, baseUrl: e.VIDU_BASE_URL ?? DEFAULT_BASE_URLS.vidu });
  if (e.REELAY_UPSTREAM_CHANNELS) out.push(...listedChannels(e.REELAY_UPSTREAM_CHANNELS, e.REELAY_UPSTREAM_RATE_PER_SECOND, storageBaseUrl, problems));
  const names = out.map((c) => c.name);
  for (const dup of new Set(names.filter((n, i) => names.indexOf(n) !== i))) {
    problems.push(`REELAY_UPSTREAM_CHANNELS: the channel name ${JSON.stringify(dup)} is used twice (the simple form names its channels gemini, vertex and vidu)`);
  }
  return out;
}

function listedChannels(text: string, defaultRate: number, storageBaseUrl: string, problems: string[]): ChannelConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    problems.push('REELAY_UPSTREAM_CHANNELS: not valid JSON (expected an array of channels)');
    return [];
  }
  const parsed = z.array(ChannelSchema).safeParse(raw);
  if (!parsed.success) {
    // Field paths only: a channel holds credentials, so no value is echoed.
    for (const i of parsed.error.issues) problems.push(`REELAY_UPSTREAM_CHANNELS[${i.path.map(String).join('.')}]: ${i.message}`);
    return [];
  }
  return parsed.data.map((c): ChannelConfig => {
    const base = { name: c.name, priority: c.priority, weight: c.weight, models: c.models, ratePerSecond: c.ratePerSecond ?? defaultRate };
    if (c.provider === 'openai-videos') return { ...c, ...base, apiKey: c.apiKey, baseUrl: videosBaseUrl(c.baseUrl) };
    if (c.provider !== 'vertex') return { ...c, ...base };
    return {
      ...base, provider: 'vertex', project: c.project, location: c.location, storageUri: c.storageUri,
      storageBaseUrl: c.storageBaseUrl ?? storageBaseUrl,
      auth: c.accessToken ? { accessToken: c.accessToken } : { credentialsFile: resolve(c.credentialsFile!) },
      baseUrl: c.baseUrl ?? vertexBaseUrl(c.location),
    };
  });
}
