/**
 * Issue 18: /openapi.json lists every route Fastify actually registered, on
 * every surface (native, operations, admin, the Vidu callback, Gemini API,
 * Vertex AI, OpenAI Videos) — so a route added without docs fails here — and
 * each says how it is authenticated, which is checked against what the server
 * really does with and without each credential.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';
import { openApiPath } from '../../src/http/openapi.ts';

// Every route as Fastify registers it: an onRoute hook on each app, added before any route is.
const registered = vi.hoisted(() => [] as { method: string; url: string }[]);
vi.mock('fastify', async (importOriginal) => {
  const mod = await importOriginal<typeof import('fastify')>();
  const wrapped = ((opts?: Parameters<typeof mod.default>[0]) => {
    const app = mod.default(opts);
    app.addHook('onRoute', (r) => {
      for (const method of [r.method].flat()) registered.push({ method, url: r.url });
    });
    return app;
  }) as typeof mod.default;
  return { ...mod, default: wrapped, fastify: wrapped };
});

type Op = { security: Record<string, string[]>[]; responses: Record<string, unknown>; requestBody?: unknown; parameters?: { name: string; in: string; required: boolean }[] };
interface Spec { paths: Record<string, Record<string, Op>>; components: { securitySchemes: Record<string, { type: string; scheme?: string; name?: string; description: string }> } }

const ADMIN_TOKEN = 'openapi-test-admin-token-0123456789';
/**
 * Registered but not API routes: Vertex's catch-alls (any method) that answer 404 in Google's
 * envelope for paths no Vertex route matches. Nothing else may be left out of the document.
 */
const NOT_ROUTES = new Set(['/v1beta1/*', '/v1/projects/*', '/v1/publishers/*']);

let s: TestServer;
let spec: Spec;
beforeAll(async () => {
  s = await startServer({ REELAY_ROLE: 'api', REELAY_ADMIN_TOKEN: ADMIN_TOKEN });
  spec = (await (await fetch(`${s.base}/openapi.json`)).json()) as Spec;
});
afterAll(async () => { await s?.close(); });

const operations = () => Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));

/** Which credential each family of paths takes (API.md §2, §11; each SDK surface what its SDK sends). */
function expectedSecurity(path: string): Record<string, string[]>[] {
  const apiKey = [{ apiKey: [] }];
  if (/^\/(v1\/)?admin\//.test(path)) return [{ adminToken: [] }];
  if (/^\/v1beta\/|^\/v1beta1\/|^\/v1\/(projects|publishers)\//.test(path)) return [{ googApiKey: [] }, { apiKey: [] }];
  if (path === '/v1/upstream/vidu/callback') return [{ viduSignature: [] }];
  if (/^\/v1\/(videos|video\/generations|models|credits|webhooks)(\/|$)/.test(path)) return apiKey;
  if (['/', '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/console/{file}', '/files/{path}'].includes(path)) return [];
  throw new Error(`no rule for ${path}: say here who may call it`);
}

/** A concrete URL for a documented path (values that reach the route, whatever it then answers). */
const concrete = (path: string) => path
  .replace('{model}', 'veo-3.0-fast-generate-001').replace('{project}', 'p').replace('{location}', 'us-central1')
  .replace('{file}', 'console.css').replace('{path}', 'x').replace(/\{[a-z_]+\}/g, 'x0');

async function call(op: { method: string; path: string; op: Op }, headers: Record<string, string> = {}) {
  const query = (op.op.parameters ?? []).filter((p) => p.in === 'query' && p.required).map((p) => `${p.name}=x0`).join('&');
  const res = await fetch(`${s.base}${concrete(op.path)}${query ? `?${query}` : ''}`, { method: op.method, headers });
  await res.arrayBuffer();
  return res.status;
}

describe('/openapi.json covers every registered route', () => {
  it('every route Fastify registered is documented, and every documented route is registered', () => {
    const routes = new Set(registered.filter((r) => !NOT_ROUTES.has(r.url)).map((r) => `${r.method} ${openApiPath(r.url)}`));
    // HEAD is added by Fastify for each GET; it is the same operation.
    const wanted = [...routes].filter((r) => !r.startsWith('HEAD ') || !routes.has(r.replace(/^HEAD/, 'GET'))).sort();
    const documented = operations().map((o) => `${o.method} ${o.path}`).sort();
    expect(documented).toEqual(wanted);
    // Every surface is there: the SDKs' own paths included.
    for (const op of ['POST /v1beta/models/{model}:predictLongRunning', 'GET /v1beta/files/{id}:download',
      'POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:fetchPredictOperation',
      'POST /v1beta1/publishers/google/models/{model}:predictLongRunning', 'DELETE /v1/videos/{id}', 'POST /v1/upstream/vidu/callback',
      'POST /admin/keys', 'GET /v1/admin/channels']) expect(documented).toContain(op);
    expect(documented.length).toBeGreaterThanOrEqual(39);
  });

  it('each operation has its request and answer shapes', () => {
    for (const { path, method, op } of operations()) {
      const answer = op.responses['200'] as { content?: Record<string, { schema?: unknown }> } | undefined;
      expect(answer?.content, `${method} ${path}: a 200 with a body`).toBeDefined();
      if (method === 'POST' && !path.endsWith('/cancel') && !path.endsWith('/retry')) expect(op.requestBody, `${method} ${path}: a request body`).toBeDefined();
    }
    const fetchOp = spec.paths['/v1/publishers/google/models/{model}:fetchPredictOperation']!.post!;
    expect(JSON.stringify(fetchOp.requestBody)).toContain('"operationName"');
    expect(fetchOp.parameters?.map((p) => p.name)).toEqual(['model']); // express mode: no project in the path
  });

  it('integer bounds are the real ones, never zod\'s safe-integer defaults', () => {
    const text = JSON.stringify(spec);
    expect(text).not.toContain('9007199254740991');
    const submit = spec.paths['/v1/video/generations']!.post! as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } };
    expect(submit.requestBody.content['application/json']!.schema.properties.seed).toMatchObject({ type: 'integer', minimum: 0, maximum: 4294967295 });
  });
});

describe('security labels say what the server does', () => {
  it('each path family names its own scheme: API key, admin token, x-goog-api-key, Vidu signature, or none', () => {
    for (const { path, method, op } of operations()) expect(op.security, `${method} ${path}`).toEqual(expectedSecurity(path));
    const schemes = spec.components.securitySchemes;
    expect(schemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.adminToken!.description).toContain('REELAY_ADMIN_TOKEN');
    expect(schemes.googApiKey).toMatchObject({ type: 'apiKey', name: 'x-goog-api-key' });
  });

  it('a route is refused (401) without credentials exactly when it documents a scheme', async () => {
    for (const o of operations()) {
      const { path, method, op } = o;
      const status = await call(o);
      if (op.security.length) expect(status, `${method} ${path}`).toBe(401);
      else expect(status, `${method} ${path}`).not.toBe(401);
    }
  });

  it('each documented credential is the one that gets in (and an API key does not open the admin API)', async () => {
    const key = { authorization: `Bearer ${s.key}` };
    for (const o of operations()) {
      const { path, method, op } = o;
      const names = op.security.flatMap((x) => Object.keys(x));
      if (names.includes('googApiKey')) expect(await call(o, { 'x-goog-api-key': s.key }), `${method} ${path}`).not.toBe(401);
      if (names.includes('apiKey')) expect(await call(o, key), `${method} ${path}`).not.toBe(401);
      if (names.includes('adminToken')) {
        expect(await call(o, key), `${method} ${path} with an API key`).toBe(401);
        expect(await call(o, { authorization: `Bearer ${ADMIN_TOKEN}` }), `${method} ${path}`).not.toBe(401);
      }
    }
  });

  it('/docs labels each route with its credential', async () => {
    const page = await (await fetch(`${s.base}/docs`)).text();
    expect(page).not.toContain('Bearer key');
    const section = (path: string) => page.slice(page.indexOf(`<code>${path}</code>`), page.indexOf('</h2>', page.indexOf(`<code>${path}</code>`)));
    expect(section('/admin/keys')).toContain('admin token');
    expect(section('/v1beta/models/{model}:predictLongRunning')).toContain('x-goog-api-key or API key');
    expect(section('/healthz')).toContain('no auth');
  });
});
