import { createHash } from 'node:crypto';
import type { FailureCode } from '../domain/failures.ts';
import { ProviderError } from '../providers/provider.ts';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
/** How ffmpeg (and other tools) report a full disk on stderr; their exit code alone says nothing. */
const FULL_TEXT = /No space left on device|Disk quota exceeded/i;

/**
 * A full disk anywhere the render went: an errno on the error or any of its
 * causes (a provider wraps what failed under it), or a tool's stderr saying so
 * (ffmpeg writing to a full scratch directory exits 1 with "No space left on device").
 */
export function isStorageFull(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 8; x = (x as { cause?: unknown }).cause, depth++) {
    if (FULL_CODES.has(String((x as { code?: unknown }).code ?? ''))) return true;
    const stderr = (x as { stderrTail?: unknown }).stderrTail;
    if (typeof stderr === 'string' && FULL_TEXT.test(stderr)) return true;
  }
  return false;
}

/** What a failed task tells its user: a full disk (whoever noticed it), a provider's own verdict, or (logged) an internal error. */
export function classifyFailure(e: unknown): { code: FailureCode; message: string } {
  if (isStorageFull(e)) {
    return { code: 'storage_full', message: 'The video could not be stored because the server ran out of disk space; the credits were refunded. Please retry later.' };
  }
  if (e instanceof ProviderError) return { code: e.code, message: e.message };
  return { code: 'internal_error', message: 'The video could not be produced because of an internal error.' };
}

/** Without a user seed, derive one from the task id: a re-run after a crash renders (and asks upstreams for) the same thing. */
export function defaultSeed(taskId: string): number {
  return createHash('sha256').update(taskId).digest().readUInt32BE(0);
}
