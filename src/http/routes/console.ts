import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { parseInput, type Route } from '../route.ts';
import { errors } from '../../domain/errors.ts';

/** The console is static files beside the HTTP adapter (a page, a stylesheet, a few ES modules): no framework, no build step. */
const DIR = new URL('../console/', import.meta.url);
const JS = 'text/javascript; charset=utf-8';
const ASSETS: Record<string, string> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': JS, 'api.js': JS, 'ui.js': JS, 'pickers.js': JS, 'image.js': JS, 'tasks.js': JS, 'extras.js': JS, 'extend.js': JS,
};
const AssetParams = z.object({ file: z.string().max(100) });

/**
 * Only this server's own scripts, styles and API; outputs (video, thumbnails)
 * may live on REELAY_PUBLIC_URL or a bucket, so media and images may come from
 * any http(s) origin — never scripts.
 */
const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
  "img-src 'self' blob: data: http: https:", "media-src 'self' blob: http: https:",
  "form-action 'none'", "frame-ancestors 'none'", "base-uri 'none'",
].join('; ');

function send(reply: FastifyReply, body: Buffer, type: string) {
  // Small files, revalidated on every load so an upgrade is picked up at once.
  return reply.type(type).headers({
    'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
  }).send(body);
}

export function consoleRoutes(): Route[] {
  const cache = new Map<string, Promise<Buffer>>();
  const load = (name: string) => {
    let p = cache.get(name);
    if (!p) {
      p = readFile(new URL(name, DIR));
      p.catch(() => cache.delete(name));
      cache.set(name, p);
    }
    return p;
  };
  return [
    {
      doc: {
        method: 'GET', url: '/', tag: 'Console', auth: false,
        summary: 'The web console: paste a key, upload an image, watch the video render',
        responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
      },
      async handler(_req, reply) {
        return send(reply, await load('index.html'), 'text/html; charset=utf-8');
      },
    },
    {
      doc: {
        method: 'GET', url: '/console/:file', tag: 'Console', auth: false, params: AssetParams,
        summary: "The console's scripts and stylesheet (its own files only; anything else is a 404)",
        responses: { 200: { description: 'A static asset', contentType: 'text/javascript' } },
      },
      async handler(req, reply) {
        const { file } = parseInput(AssetParams, req.params);
        const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
        if (!type) throw errors.routeNotFound('GET', `/console/${file}`);
        return send(reply, await load(file), type);
      },
    },
  ];
}
