import { randomBytes, randomInt } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Unbiased random base62 (rejection sampling via randomInt). */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
  return out;
}

/** Task ids as the vendor issues them: `task_` + 32 base62 characters. */
export const newTaskId = () => `task_${randomBase62(32)}`;
export const isTaskId = (s: string) => /^task_[0-9A-Za-z]{32}$/.test(s);

export const newKeyId = () => `key_${randomBase62(16)}`;
/** API keys carry 190 bits of entropy, so a plain SHA-256 is a sufficient hash (no slow KDF needed). */
export const newApiKey = () => `rly_${randomBase62(40)}`;
export const newWorkerId = () => `wrk_${randomBytes(6).toString('hex')}`;
/** One id per webhook event: every redelivery of it carries the same `webhook-id`. */
export const newEventId = () => `msg_${randomBytes(16).toString('hex')}`;
