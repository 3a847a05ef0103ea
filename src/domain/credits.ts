import { errors } from './errors.ts';
import type { Storage } from './ports.ts';
import type { Actor } from './task-service.ts';

export const MAX_GRANT = 1_000_000_000;

/** Balances and grants (API.md §7). Grants and adjustments are ledger entries like any other. */
export function createCreditService(store: Pick<Storage, 'keys' | 'ledger' | 'transaction'>, now: () => number) {
  return {
    async summary(actor: Actor, limit = 20) {
      const [balance, reserved, entries] = await Promise.all([
        store.ledger.balance(actor.keyId), store.ledger.reservedInFlight(actor.keyId), store.ledger.recent(actor.keyId, limit),
      ]);
      return {
        object: 'credit_balance' as const,
        balance: balance ?? 0,
        /** Already deducted from the balance; returned if those tasks fail or are cancelled. */
        reserved_in_flight: reserved,
        entries: entries.map((e) => ({
          id: e.id, kind: e.kind, amount: Number(e.amount), balance_after: Number(e.balance_after),
          task_id: e.task_id, note: e.note, created_at: Math.floor(Number(e.created_at) / 1000),
        })),
      };
    },

    /** Positive amounts grant; negative ones adjust down (never below zero). Returns the new balance. */
    async grant(keyId: string, amount: number, note: string | null): Promise<number> {
      if (!Number.isInteger(amount) || amount === 0 || Math.abs(amount) > MAX_GRANT) {
        throw errors.invalidField('amount', `"amount" must be a non-zero whole number of credits up to ${MAX_GRANT} (got ${amount}).`);
      }
      if (!(await store.keys.find(keyId))) throw errors.notFound('key', keyId);
      const balance = await store.transaction((r) => r.ledger.grant(keyId, amount, now(), note));
      if (balance === undefined) {
        throw errors.invalidField('amount', `Adjusting by ${amount} would make the balance negative (it is ${await store.ledger.balance(keyId)}).`);
      }
      return balance;
    },
  };
}

export type CreditService = ReturnType<typeof createCreditService>;
