/**
 * The base of the public links Reelay hands out. Known at start when
 * REELAY_PUBLIC_URL is set; otherwise it is http://HOST:PORT, and with
 * PORT=0 (tests) the port is known only once the server listens — so this
 * one object is created first, passed to whoever builds links, and told the
 * address by listen(). It is the only value in the composition set after
 * construction.
 */
export interface PublicUrl {
  get(): string;
  /** The address the server listens on; ignored when REELAY_PUBLIC_URL is configured. */
  listening(host: string, port: number): void;
}

export function publicUrl(configured: string | undefined, host: string, port: number): PublicUrl {
  const hostPart = (h: string) => (h.includes(':') ? `[${h}]` : h);
  let value = configured ?? `http://${hostPart(host)}:${port}`;
  return {
    get: () => value,
    listening(h, p) {
      if (!configured) value = `http://${hostPart(h)}:${p}`;
    },
  };
}
