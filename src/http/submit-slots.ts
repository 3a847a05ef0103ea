import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errors } from '../domain/errors.ts';

/** Per-key budgets a submit must pass before its body is read (built in compose/services.ts). */
export interface SubmitAdmission {
  /**
   * Throws the 429 when the key may not send a body now; else charges
   * `declaredBytes` (its Content-Length) and returns what to call with the
   * bytes actually read once the response closes (it charges a body sent without one).
   */
  admit(keyId: string, declaredBytes: number | undefined): (bytesRead: number) => void;
}

export interface SubmitSlots {
  /** Take a slot for this key or throw the 429; the slot is given back when the response closes. */
  take(keyId: string, onRelease: (release: () => void) => void): void;
  /** The onRequest hook of every submit route (native and drop-in): runs after auth, before the body is read. */
  gate: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

/**
 * The one set of submit slots of this process, shared by the native submit
 * and the drop-in surfaces. A submit body (up to 20 MB) is held in memory
 * while it is read and its images checked, so the process reads at most
 * `capacity` at once — and one key at most half of them (at least one), so
 * a key that opens many slow uploads (1 byte/s, held up to the request
 * timeout) leaves the other half to everyone else. Refused at once, never
 * queued: a waiting upload would hold its socket and its client's clock.
 * (With a capacity of 1 there is nothing to share.)
 */
export function createSubmitSlots(capacity: number, admission?: SubmitAdmission): SubmitSlots {
  const perKey = Math.max(1, Math.ceil(capacity / 2));
  const byKey = new Map<string, number>();
  let total = 0;

  function take(keyId: string, onRelease: (release: () => void) => void): void {
    const mine = byKey.get(keyId) ?? 0;
    if (mine >= perKey) throw keyBusy(perKey, capacity);
    if (total >= capacity) throw errors.serverBusy(capacity);
    total++;
    byKey.set(keyId, mine + 1);
    let released = false;
    onRelease(() => {
      if (released) return;
      released = true;
      total--;
      const left = (byKey.get(keyId) ?? 1) - 1;
      if (left > 0) byKey.set(keyId, left);
      else byKey.delete(keyId);
    });
  }

  return {
    take,
    async gate(req, reply) {
      if (!req.actor) throw new Error('submit slots need an authenticated request');
      const keyId = req.actor.keyId;
      let release = () => {};
      take(keyId, (r) => { release = r; });
      // Refused here, a body costs nothing but the kernel's discarding of it: not parsed, hashed, decoded or stored.
      let settle: (bytesRead: number) => void;
      try {
        const declared = Number(req.headers['content-length']);
        settle = admission ? admission.admit(keyId, Number.isFinite(declared) && declared >= 0 ? declared : undefined) : () => {};
      } catch (e) {
        release();
        throw e;
      }
      const socket = req.raw.socket;
      const readBefore = socket.bytesRead;
      reply.raw.once('close', () => {
        release();
        settle(socket.bytesRead - readBefore);
      });
    },
  };
}

/** Same code as a full server (clients already retry on it), with the reason that applies to this key. */
function keyBusy(perKey: number, capacity: number): ApiError {
  const base = errors.serverBusy(capacity);
  return new ApiError(base.status, base.type, base.code,
    `This key is already sending ${perKey} submissions at once (one key may use at most half of the ${capacity} this server reads at once); retry when one has finished.`,
    { headers: base.headers });
}
