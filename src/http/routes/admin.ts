import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput, registerRoute, type Route, type SameShape } from '../route.ts';
import { errors } from '../../domain/errors.ts';
import { MAX_GRANT, type CreditService } from '../../domain/credits.ts';
import type { KeyService } from '../../domain/keys.ts';

// Every rule the initial grant will apply is checked here, before the key exists: a 400 must create nothing.
const CreateKey = z.object({ name: z.string(), credits: z.number().int().min(0).max(MAX_GRANT).optional() });
const Grant = z.object({ amount: z.number().int(), note: z.string().max(500).optional() });
const KeyParams = z.object({ key_id: z.string().min(1).max(100) });

// Answers, for the OpenAPI document.
const KeyList = z.object({
  object: z.literal('list'),
  data: z.array(z.object({
    id: z.string(), name: z.string(), prefix: z.string().describe('The first characters of the key, to recognise it'),
    balance: z.number().int(), created_at: z.number().int(), revoked_at: z.number().int().nullable(),
  })),
});
const NewKey = z.object({
  id: z.string(), name: z.string(), key: z.string().describe('The API key: shown this once'),
  webhook_secret: z.string().describe('whsec_…: signs this key\'s webhooks; shown this once'), balance: z.number().int(),
});
const Balance = z.object({ key_id: z.string(), balance: z.number().int() });
export const KEY_LIST_MATCHES: SameShape<z.infer<typeof KeyList>['data'][number], Awaited<ReturnType<KeyService['list']>>[number]> = true;

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Admin API for operators (keys, grants), behind REELAY_ADMIN_TOKEN; absent token → the routes refuse. */
export function adminRoutes(keys: KeyService, credits: CreditService): Route[] {
  return [
    {
      doc: {
        method: 'GET', url: '/admin/keys', tag: 'Admin', auth: 'admin', summary: 'List API keys with their balances (admin token)',
        responses: { 200: { description: 'Keys', schema: KeyList } },
      },
      async handler() {
        return { object: 'list', data: await keys.list() };
      },
    },
    {
      doc: {
        method: 'POST', url: '/admin/keys', tag: 'Admin', auth: 'admin', summary: 'Create an API key; the key and webhook secret are shown once (admin token)',
        body: { schema: CreateKey, contentTypes: ['application/json'] }, responses: { 200: { description: 'The new key', schema: NewKey } },
      },
      async handler(req) {
        const body = parseInput(CreateKey, req.body, 'body');
        const k = await keys.create(body.name);
        const balance = body.credits ? await credits.grant(k.id, body.credits, 'initial grant') : 0;
        return { id: k.id, name: k.name, key: k.key, webhook_secret: k.webhook_secret, balance };
      },
    },
    {
      doc: {
        method: 'POST', url: '/admin/keys/:key_id/credits', tag: 'Admin', auth: 'admin', params: KeyParams,
        summary: 'Grant credits to a key (negative: adjust down, never below zero) (admin token)',
        body: { schema: Grant, contentTypes: ['application/json'] }, responses: { 200: { description: 'The new balance', schema: Balance } },
      },
      async handler(req) {
        const { key_id } = parseInput(KeyParams, req.params);
        const body = parseInput(Grant, req.body, 'body');
        return { key_id, balance: await credits.grant(key_id, body.amount, body.note ?? null) };
      },
    },
  ];
}

export function adminScope(token: string | undefined, routes: Route[]) {
  const want = token ? digest(token) : undefined;
  return async (scope: FastifyInstance) => {
    scope.addHook('onRequest', async (req) => {
      if (!want) throw errors.unauthorized('The admin API is disabled; set REELAY_ADMIN_TOKEN to enable it.');
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      // Compare digests so the comparison is constant-time whatever the lengths.
      if (!m || !timingSafeEqual(digest(m[1]!), want)) throw errors.unauthorized('Invalid admin token.');
    });
    for (const r of routes) registerRoute(scope, r);
  };
}
