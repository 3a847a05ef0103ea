import { z } from 'zod';
import type { RouteDoc } from './route.ts';

const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;

function parameters(doc: RouteDoc) {
  const out: Record<string, unknown>[] = [];
  for (const [where, schema] of [['path', doc.params], ['query', doc.query]] as const) {
    if (!schema) continue;
    for (const [name, field] of Object.entries(schema.shape)) {
      const js = jsonSchema(field as z.ZodType);
      out.push({ name, in: where, required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success, schema: js, description: js.description });
    }
  }
  for (const [name, description] of Object.entries(doc.headers ?? {})) out.push({ name, in: 'header', required: false, schema: { type: 'string' }, description });
  return out;
}

/** OpenAPI 3.1 from the same zod schemas the routes validate with. */
export function buildOpenApi(docs: RouteDoc[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const doc of docs.filter((d) => !d.hidden)) {
    const path = doc.url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{path}');
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(doc.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { 'application/json': { schema: jsonSchema(r.schema) } } } : r.contentType ? { content: { [r.contentType]: {} } } : {}),
      };
    }
    if (doc.auth) responses['401'] = { description: 'Missing, unknown or revoked API key' };
    const params = parameters(doc);
    if (path.includes('{path}')) params.unshift({ name: 'path', in: 'path', required: true, schema: { type: 'string' } });
    (paths[path] ??= {})[doc.method.toLowerCase()] = {
      summary: doc.summary,
      tags: [doc.tag],
      ...(doc.auth ? { security: [{ bearer: [] }] } : { security: [] }),
      ...(params.length ? { parameters: params } : {}),
      ...(doc.body ? { requestBody: { required: true, content: Object.fromEntries(doc.body.contentTypes.map((ct) => [ct, { schema: jsonSchema(doc.body!.schema) }])) } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { ...info, description: 'Reelay: one API in front of image-to-video models. Errors are {"error":{type,code,message,param}}.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } } },
    paths,
  };
}
