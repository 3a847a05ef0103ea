import { createHash } from 'node:crypto';
import type { FailureCode } from '../domain/failures.ts';
import { ProviderError } from '../providers/provider.ts';

/** What a failed task tells its user: a provider's own verdict, a full disk, or (logged) an internal error. */
export function classifyFailure(e: unknown): { code: FailureCode; message: string } {
  if (e instanceof ProviderError) return { code: e.code, message: e.message };
  const errno = (e as NodeJS.ErrnoException | null)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return { code: 'storage_full', message: 'The video could not be stored because the server ran out of disk space; the credits were refunded. Please retry later.' };
  }
  return { code: 'internal_error', message: 'The video could not be produced because of an internal error.' };
}

/** Without a user seed, derive one from the task id: a re-run after a crash renders (and asks upstreams for) the same thing. */
export function defaultSeed(taskId: string): number {
  return createHash('sha256').update(taskId).digest().readUInt32BE(0);
}
