import type { FastifyInstance } from 'fastify';
import { catalogDimensions, type CompatDeps, type SurfaceDeps } from './shared.ts';
import { geminiSurface } from './gemini.ts';
import { vertexSurface } from './vertex.ts';
import { openAISurface } from './openai.ts';

export type { CompatDeps } from './shared.ts';

/**
 * Drop-in surfaces for the official SDKs (issue #7): the Gemini API and
 * Vertex AI (`@google/genai`) and OpenAI Videos (`openai`). Each is its own
 * Fastify scope with its own auth hook and error envelope; all of them call
 * the same task service, so a task made on one is readable on every other.
 */
export async function registerCompat(app: FastifyInstance, deps: CompatDeps): Promise<void> {
  const d: SurfaceDeps = { ...deps, submitGate: deps.submitSlots.gate, dimensions: catalogDimensions(deps.catalog) };
  await app.register(geminiSurface(d), { prefix: '/v1beta' });
  await app.register(vertexSurface(d));
  await app.register(openAISurface(d));
}
