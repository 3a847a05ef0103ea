import { createHmac, timingSafeEqual } from 'node:crypto';

export type LinkCheck = 'ok' | 'expired' | 'invalid';

/**
 * Public links to blobs: `/files/<key>?expires=<unix s>&sig=<hmac>`. The
 * HMAC binds key and expiry, so a link can be shared without the API key but
 * not altered or extended.
 */
export function linkSigner(secret: string, publicBase: string) {
  const sign = (key: string, expires: number) =>
    createHmac('sha256', secret).update(`${key}\n${expires}`).digest('base64url');
  return {
    blobUrl(key: string, expiresAtSec: number): string {
      const path = key.split('/').map(encodeURIComponent).join('/');
      return `${publicBase}/files/${path}?expires=${expiresAtSec}&sig=${sign(key, expiresAtSec)}`;
    },
    check(key: string, expires: string | undefined, sig: string | undefined, nowSec: number): LinkCheck {
      if (!expires || !sig || !/^\d{1,12}$/.test(expires)) return 'invalid';
      const want = Buffer.from(sign(key, Number(expires)));
      const got = Buffer.from(sig);
      if (want.length !== got.length || !timingSafeEqual(want, got)) return 'invalid';
      return Number(expires) < nowSec ? 'expired' : 'ok';
    },
  };
}

export type LinkSigner = ReturnType<typeof linkSigner>;
