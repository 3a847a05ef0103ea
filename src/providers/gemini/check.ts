import type { CallFailed } from '../upstream/http-call.ts';
import type { ChannelCheck } from '../upstream/upstream-provider.ts';
import { classifyCall } from './errors.ts';
import { LABEL, type GeminiCall } from './gemini-call.ts';
import { usesInteractions } from './interactions-mapping.ts';

/** models.list takes up to 1000 a page; the catalogue is a few dozen models, so a handful of pages at most. */
const PAGE_SIZE = 1000;
const MAX_PAGES = 20;

/**
 * `reelay channels test` for a Gemini API channel: one paged
 * `GET /v1beta/models` with the key (UPSTREAM.md §1: "before routing any Veo
 * traffic here, confirm the id exists and lists predictLongRunning").
 * Nothing is generated.
 */
export async function checkGemini(call: GeminiCall, upstreamModels: readonly string[], signal: AbortSignal): Promise<ChannelCheck> {
  const listed = new Map<string, string[]>();
  let token = '';
  let complete = false;
  for (let page = 0; page < MAX_PAGES && !complete; page++) {
    const q = new URLSearchParams({ pageSize: String(PAGE_SIZE), ...(token ? { pageToken: token } : {}) });
    const r = await call('GET', `/v1beta/models?${q}`, signal);
    if (!r.ok) return unlisted(r, upstreamModels);
    const models = Array.isArray(r.body.models) ? r.body.models as { name?: unknown; supportedGenerationMethods?: unknown }[] : [];
    for (const m of models) {
      if (typeof m?.name !== 'string') continue;
      const methods = Array.isArray(m.supportedGenerationMethods) ? m.supportedGenerationMethods.filter((x): x is string => typeof x === 'string') : [];
      listed.set(m.name.replace(/^models\//, ''), methods);
    }
    token = typeof r.body.nextPageToken === 'string' ? r.body.nextPageToken : '';
    complete = !token;
  }
  return {
    credentials: { ok: true, detail: `${LABEL} accepted the key (${listed.size} models listed).` },
    models: upstreamModels.map((id) => modelCheck(id, listed.get(id), complete)),
  };
}

function modelCheck(id: string, methods: string[] | undefined, complete: boolean): ChannelCheck['models'][number] {
  if (!methods) {
    return complete
      ? { upstreamModel: id, ok: false, detail: `not listed by ${LABEL} for this key (retired, or not enabled for it).` }
      : { upstreamModel: id, ok: null, detail: `not in the first ${MAX_PAGES} pages of the model list.` };
  }
  // Omni is reached through the Interactions API; what it lists as methods is not documented, so being listed is the check.
  if (usesInteractions(id)) return { upstreamModel: id, ok: true, detail: 'listed (served through the Interactions API).' };
  if (id.startsWith('veo-') && !methods.includes('predictLongRunning')) {
    return { upstreamModel: id, ok: false, detail: `listed, but without predictLongRunning (methods: ${methods.join(', ') || 'none'}).` };
  }
  return { upstreamModel: id, ok: true, detail: methods.length ? `listed (${methods.join(', ')}).` : 'listed.' };
}

function unlisted(r: CallFailed, upstreamModels: readonly string[]): ChannelCheck {
  const f = classifyCall(r, 'poll', LABEL);
  const refused = f.code === 'upstream_auth';
  return {
    credentials: { ok: false, detail: refused ? f.message : `the model list could not be read: ${f.message}` },
    models: upstreamModels.map((id) => ({ upstreamModel: id, ok: null, detail: 'not checked: the model list could not be read.' })),
  };
}
