import { isApiError, type ApiError } from '../../src/domain/errors.ts';

/** The ApiError `fn` throws; anything else thrown is rethrown, and throwing nothing fails the test. */
export function fails(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (isApiError(e)) return e;
    throw e;
  }
  throw new Error('expected an ApiError, nothing was thrown');
}
