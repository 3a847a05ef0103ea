import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../domain/errors.ts';

/**
 * The JSON body parser of every surface. Fastify's own answers one error,
 * "not valid JSON", for three different problems; this one says which:
 * an empty body, a body that does not parse, or valid JSON that uses a key
 * Reelay refuses (`__proto__`, `constructor.prototype`: prototype poisoning
 * for any code that later merges the object).
 */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req: FastifyRequest, body: string | Buffer, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
}

export function parseJsonBody(text: string): unknown {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (source.trim() === '') throw errors.invalid('invalid_json', 'The request body is empty; send a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    throw errors.invalidJson('it could not be parsed');
  }
  const key = forbiddenKey(value);
  if (key) {
    throw errors.invalid('forbidden_json_key', `The request body is valid JSON but uses the key "${key}", which is not accepted anywhere; remove it.`);
  }
  return value;
}

/** Iterative, not recursive: a 200 000-deep array must not overflow the stack. */
function forbiddenKey(root: unknown): string | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    const o = v as Record<string, unknown>;
    if (Object.hasOwn(o, '__proto__')) return '__proto__';
    const ctor = Object.hasOwn(o, 'constructor') ? o.constructor : undefined;
    if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return 'constructor.prototype';
    for (const item of Object.values(o)) if (typeof item === 'object' && item !== null) stack.push(item);
  }
  return undefined;
}
