import type { FastifyInstance } from 'fastify';
import type { RouteDoc } from '../route.ts';
import { catalogDimensions, type CompatDeps, type SurfaceDeps } from './shared.ts';
import { GEMINI_DOCS, GEMINI_PREFIX, geminiSurface } from './gemini.ts';
import { vertexDocs, vertexSurface } from './vertex.ts';
import { OPENAI_DOCS, openAISurface } from './openai.ts';

export type { CompatDeps } from './shared.ts';

/**
 * Drop-in surfaces for the official SDKs (issue #7): the Gemini API and
 * Vertex AI (`@google/genai`) and OpenAI Videos (`openai`). Each is its own
 * Fastify scope with its own auth hook and error envelope; all of them call
 * the same task service, so a task made on one is readable on every other.
 */
export async function registerCompat(app: FastifyInstance, deps: CompatDeps): Promise<void> {
  const d: SurfaceDeps = { ...deps, submitGate: deps.submitSlots.gate, dimensions: catalogDimensions(deps.catalog) };
  await app.register(geminiSurface(d), { prefix: GEMINI_PREFIX });
  await app.register(vertexSurface(d));
  await app.register(openAISurface(d));
}

/** The docs of every route registerCompat registers, with full paths (for /openapi.json). */
export function compatRouteDocs(): RouteDoc[] {
  return [
    ...Object.values(GEMINI_DOCS).map((doc): RouteDoc => ({ ...doc, url: `${GEMINI_PREFIX}${doc.url}` })),
    ...vertexDocs().map((r) => r.doc),
    ...Object.values(OPENAI_DOCS),
  ];
}
