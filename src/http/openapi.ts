import { z } from 'zod';
import { ErrorBody } from '../domain/task-schemas.ts';
import type { RouteAuth, RouteDoc } from './route.ts';

/**
 * zod writes `.int()` as the safe-integer range (±9007199254740991): a bound
 * no rule of ours sets, so it is dropped; real bounds (`.min(0)`) stay.
 */
function dropSafeIntegerBounds(ctx: { jsonSchema: Record<string, unknown> }) {
  const s = ctx.jsonSchema;
  if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
  if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
}

const jsonSchema = (s: z.ZodType) =>
  z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input', override: dropSafeIntegerBounds }) as Record<string, unknown>;

/** Fastify's route syntax → an OpenAPI path: `:model(^[^:/]+)` → `{model}`, `::` → `:`, a trailing `*` → `{path}`. */
export function openApiPath(url: string): string {
  return url.split('::').map((part) => part.replace(/:([A-Za-z_]\w*)(\([^)]*\))?/g, '{$1}')).join(':').replace(/\*$/, '{path}');
}

const SECURITY_SCHEMES = {
  apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key> (reelay keys create, or POST /admin/keys)' },
  adminToken: { type: 'http', scheme: 'bearer', description: "Authorization: Bearer <REELAY_ADMIN_TOKEN>: the operator's token, not an API key. Unset: the admin API refuses every call." },
  googApiKey: { type: 'apiKey', in: 'header', name: 'x-goog-api-key', description: 'x-goog-api-key: <API key>, as @google/genai sends it (Authorization: Bearer <API key> is accepted too)' },
  viduSignature: {
    type: 'apiKey', in: 'header', name: 'X-HMAC-SIGNATURE',
    description: "Vidu's HMAC-SHA256 signature, keyed with the channel's Vidu API token, over the method, this URL, Date and x-request-nonce (X-HMAC-SIGNED-HEADERS); for Vidu, not for API clients",
  },
} as const;

/** Each way in (API.md §2; the SDK surfaces take what their SDK sends) → the schemes that satisfy it (any one). */
const SECURITY: Record<Exclude<RouteAuth, false>, { schemes: (keyof typeof SECURITY_SCHEMES)[]; refused: string }> = {
  apiKey: { schemes: ['apiKey'], refused: 'Missing, unknown or revoked API key' },
  admin: { schemes: ['adminToken'], refused: 'Missing or wrong admin token, or the admin API is disabled (no REELAY_ADMIN_TOKEN)' },
  google: { schemes: ['googApiKey', 'apiKey'], refused: 'Missing, unknown or revoked API key' },
  viduSignature: { schemes: ['viduSignature'], refused: 'Signature missing, wrong, stale or replayed' },
};

function parameters(doc: RouteDoc, path: string) {
  const out: Record<string, unknown>[] = [];
  for (const [where, schema] of [['path', doc.params], ['query', doc.query]] as const) {
    if (!schema) continue;
    for (const [name, field] of Object.entries(schema.shape)) {
      // One params schema may serve several paths (Vertex with and without a project): only this path's own.
      if (where === 'path' && !path.includes(`{${name}}`)) continue;
      const js = jsonSchema(field as z.ZodType);
      out.push({ name, in: where, required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success, schema: js, description: js.description });
    }
  }
  for (const [name, description] of Object.entries(doc.headers ?? {})) out.push({ name, in: 'header', required: false, schema: { type: 'string' }, description });
  if (path.endsWith('{path}')) out.unshift({ name: 'path', in: 'path', required: true, schema: { type: 'string' } });
  return out;
}

function responses(doc: RouteDoc) {
  const out: Record<string, unknown> = {};
  const errorBody = { content: { 'application/json': { schema: jsonSchema(doc.errorSchema ?? ErrorBody) } } };
  for (const [status, r] of Object.entries(doc.responses)) {
    out[status] = {
      description: r.description,
      ...(r.schema ? { content: { 'application/json': { schema: jsonSchema(r.schema) } } } : r.contentType ? { content: { [r.contentType]: {} } } : {}),
    };
  }
  if (doc.auth && !out['401']) out['401'] = { description: SECURITY[doc.auth].refused, ...errorBody };
  out.default = { description: "Any other error, in this surface's error envelope", ...errorBody };
  return out;
}

function operation(doc: RouteDoc, path: string) {
  const params = parameters(doc, path);
  return {
    summary: doc.summary,
    tags: [doc.tag],
    security: doc.auth ? SECURITY[doc.auth].schemes.map((name) => ({ [name]: [] })) : [],
    ...(params.length ? { parameters: params } : {}),
    ...(doc.body ? { requestBody: { required: true, content: Object.fromEntries(doc.body.contentTypes.map((ct) => [ct, { schema: jsonSchema(doc.body!.schema) }])) } } : {}),
    responses: responses(doc),
  };
}

/** OpenAPI 3.1 from the same zod schemas the routes validate with: every route, none hidden (test/integration/openapi.test.ts). */
export function buildOpenApi(docs: RouteDoc[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const doc of docs) {
    const path = openApiPath(doc.url);
    (paths[path] ??= {})[doc.method.toLowerCase()] = operation(doc, path);
  }
  return {
    openapi: '3.1.0',
    info: {
      ...info,
      description: 'Reelay: one API in front of image-to-video models — its own API, and drop-in surfaces for the Gemini API, '
        + 'Vertex AI and OpenAI Videos SDKs. Errors are {"error":{type,code,message,param}} (Google\'s envelope on the Google surfaces).',
    },
    components: { securitySchemes: SECURITY_SCHEMES },
    paths,
  };
}
