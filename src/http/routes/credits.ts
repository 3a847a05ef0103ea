import { z } from 'zod';
import { parseInput, type Route } from '../route.ts';
import { actorOf } from '../plugins/auth.ts';
import type { CreditService } from '../../domain/credits.ts';

const CreditsQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20).describe('recent ledger entries, 1–100') });

export const CreditBalance = z.object({
  object: z.literal('credit_balance'),
  balance: z.number().int(),
  reserved_in_flight: z.number().int(),
  entries: z.array(z.object({
    id: z.string(), kind: z.enum(['grant', 'reserve', 'charge', 'refund', 'adjust']), amount: z.number().int(),
    balance_after: z.number().int(), task_id: z.string().nullable(), note: z.string().nullable(), created_at: z.number().int(),
  })),
});

export function creditsRoute(credits: CreditService): Route {
  return {
    doc: {
      method: 'GET', url: '/v1/credits', tag: 'Credits', auth: 'apiKey', query: CreditsQuery,
      summary: "The key's balance and recent ledger entries (newest first)",
      responses: { 200: { description: 'Balance', schema: CreditBalance } },
    },
    async handler(req) {
      const { limit } = parseInput(CreditsQuery, req.query);
      return credits.summary(actorOf(req), limit);
    },
  };
}
