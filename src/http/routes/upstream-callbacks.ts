import { z } from 'zod';
import { ApiError } from '../../domain/errors.ts';
import { parseInput, type Route } from '../route.ts';
import { callbackQuery, VIDU_CALLBACK_PATH, verifyViduCallback } from '../../providers/vidu/callback.ts';

export interface CallbackDeps {
  /** API tokens of the Vidu channels, by channel name (they sign the callbacks). */
  viduTokens: ReadonlyMap<string, string>;
  publicBase(): string;
  now(): number;
  seenNonce(nonce: string, until: number): boolean;
  /** The task's upstream job changed: poll it now. */
  pollSoon(taskId: string): Promise<void>;
}

const Query = z.object({ task: z.string().min(1).max(100), channel: z.string().min(1).max(63) });

/**
 * Vidu's callback (UPSTREAM.md §4): a signed "this task changed". Its body is
 * not signed, so it is never trusted — a verified call only moves the task's
 * next poll to now; the poller re-fetches the state from Vidu.
 */
export function upstreamCallbackRoutes(d: CallbackDeps): Route[] {
  return [{
    doc: {
      method: 'POST', url: VIDU_CALLBACK_PATH, tag: 'Upstreams', auth: 'viduSignature', query: Query,
      summary: "Vidu's task-state callback (HMAC-signed by Vidu; not for API clients). Its body is never trusted: the task is polled now",
      body: { schema: z.record(z.string(), z.unknown()).describe("Vidu's task state (unsigned, so ignored)"), contentTypes: ['application/json'] },
      responses: { 200: { description: 'Accepted: the task is polled now', schema: z.object({ received: z.literal(true) }) } },
    },
    async handler(req) {
      const q = parseInput(Query, req.query);
      const token = d.viduTokens.get(q.channel);
      // The same answer for an unknown channel as for a bad signature: nothing to probe.
      const verdict = token === undefined ? { ok: false as const, reason: 'signature does not match' } : verifyViduCallback({
        method: req.method, callbackUrl: `${d.publicBase()}${VIDU_CALLBACK_PATH}?${callbackQuery(q.channel, q.task)}`,
        headers: req.headers, apiToken: token, now: d.now(), seenNonce: d.seenNonce,
      });
      if (!verdict.ok) throw new ApiError(401, 'authentication_error', 'invalid_signature', `Callback refused: ${verdict.reason}.`);
      await d.pollSoon(q.task);
      return { received: true };
    },
  }];
}
