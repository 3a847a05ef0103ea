import { describe, expect, it } from 'vitest';
import { linkSigner } from '../../src/infra/blob/signed-links.ts';
import { parseRange } from '../../src/http/send-blob.ts';
import { assertSafeKey } from '../../src/infra/blob/blob-store.ts';

describe('signed links', () => {
  const s = linkSigner('secret-secret-secret-secret-secret', 'http://x');
  it('verify their own signature until expiry', () => {
    const url = new URL(s.blobUrl('outputs/t/video.mp4', 2000));
    expect(url.pathname).toBe('/files/outputs/t/video.mp4');
    const sig = url.searchParams.get('sig')!;
    expect(s.check('outputs/t/video.mp4', '2000', sig, 1999)).toBe('ok');
    expect(s.check('outputs/t/video.mp4', '2000', sig, 2001)).toBe('expired');
    expect(s.check('outputs/t/other.mp4', '2000', sig, 1999)).toBe('invalid');
    expect(s.check('outputs/t/video.mp4', '2001', sig, 1999)).toBe('invalid');
    expect(s.check('outputs/t/video.mp4', undefined, sig, 1999)).toBe('invalid');
    expect(linkSigner('another-secret-another-secret-xx', '').check('outputs/t/video.mp4', '2000', sig, 1999)).toBe('invalid');
  });
});

describe('Range parsing', () => {
  it('handles the single-range forms and refuses unsatisfiable ones', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBeNull();
    expect(parseRange('bytes=5-1', 100)).toBeNull();
    expect(parseRange('bytes=-0', 100)).toBeNull();
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
  });
});

describe('blob keys', () => {
  it('refuse traversal', () => {
    for (const k of ['../x', 'a/../../b', '/abs', 'a//b', 'a/./b', '']) expect(() => assertSafeKey(k)).toThrow();
    expect(() => assertSafeKey('outputs/task_1/video.mp4')).not.toThrow();
  });
});
