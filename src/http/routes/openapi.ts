import type { Route, RouteDoc } from '../route.ts';
import { buildOpenApi } from '../openapi.ts';
import { renderDocsPage } from '../docs-page.ts';
import { compatRouteDocs } from '../compat/index.ts';

/**
 * `docs` are the Route docs the app registers (native, operations, admin, callbacks); the SDK surfaces,
 * registered as Fastify scopes by registerCompat, add their own here.
 */
export function openapiRoutes(docs: () => RouteDoc[], version: string): Route[] {
  let cached: ReturnType<typeof buildOpenApi> | undefined;
  const spec = () => (cached ??= buildOpenApi([...docs(), ...compatRouteDocs()], { title: 'Reelay API', version }));
  return [
    {
      doc: {
        method: 'GET', url: '/openapi.json', tag: 'Operations', auth: false, summary: 'This OpenAPI 3.1 document (every route of every surface)',
        responses: { 200: { description: 'OpenAPI document', contentType: 'application/json' } },
      },
      async handler() {
        return spec();
      },
    },
    {
      doc: { method: 'GET', url: '/docs', tag: 'Operations', auth: false, summary: 'Human-readable API reference (this document as a page)', responses: { 200: { description: 'HTML', contentType: 'text/html' } } },
      async handler(_req, reply) {
        reply.header('content-type', 'text/html; charset=utf-8');
        return renderDocsPage(spec());
      },
    },
  ];
}
