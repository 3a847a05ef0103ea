import { dirname } from 'node:path';

export interface CheckResult {
  ok: boolean;
  detail?: string;
}

export interface ReadinessProbe {
  name: string;
  /** How long a result is trusted: a check that spawns processes or reads the database file runs at most this often. */
  everyMs: number;
  /**
   * At most this share of the time spent checking (0.01: a check that took
   * 2 s is trusted for 200 s), for a check whose cost grows with the data,
   * like reading every page of the database file.
   */
  maxShare?: number;
  check(): Promise<CheckResult>;
}

export interface Readiness {
  /** Every probe's latest result, refreshing the ones older than their `everyMs` (one check per probe at a time). */
  results(): Promise<Record<string, CheckResult>>;
}

/** A check that has not answered in this long counts as failed (a hung disk or database is not ready). */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * Readiness without a process (or a database scan) per request: each probe's
 * result is cached for its interval and refreshed single-flight, so 200
 * concurrent /readyz cost one check, whoever asks.
 */
export function createReadiness(probes: ReadinessProbe[], now: () => number): Readiness {
  const cache = new Map<string, { result: CheckResult; at: number; trustMs: number }>();
  const running = new Map<string, Promise<CheckResult>>();

  function refresh(p: ReadinessProbe): Promise<CheckResult> {
    let flight = running.get(p.name);
    if (!flight) {
      const started = now();
      flight = bounded(p).then((result) => {
        const at = now();
        cache.set(p.name, { result, at, trustMs: Math.max(p.everyMs, p.maxShare ? (at - started) / p.maxShare : 0) });
        running.delete(p.name);
        return result;
      });
      running.set(p.name, flight);
    }
    return flight;
  }

  return {
    async results() {
      const t = now();
      const entries = await Promise.all(probes.map(async (p) => {
        const hit = cache.get(p.name);
        return [p.name, hit && t - hit.at < hit.trustMs ? hit.result : await refresh(p)] as const;
      }));
      return Object.fromEntries(entries);
    },
  };
}

async function bounded(p: ReadinessProbe): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `the check did not answer within ${CHECK_TIMEOUT_MS / 1000} s` }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p.check().catch((e: unknown) => ({ ok: false, detail: (e as Error)?.message ?? String(e) })), late]);
  } finally {
    clearTimeout(timer);
  }
}

type StatFs = (path: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

/** A directory created on first write (blobs/) is measured on the filesystem that will hold it. */
async function statfsNearest(path: string, statfs: StatFs) {
  for (let p = path; ; p = dirname(p)) {
    try {
      return await statfs(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw e;
    }
  }
}

/** A directory that must keep some room free, named for humans (no paths in a public answer). */
export interface WatchedDir {
  what: string;
  path: string;
}

/**
 * Free space where Reelay writes: below `minFreeBytes` a node would only fail
 * its writes (SQLite, stored videos, renders), so it says it is not ready.
 */
export function diskSpaceProbe(dirs: WatchedDir[], minFreeBytes: number, everyMs: number, statfs: StatFs): ReadinessProbe {
  const mb = (n: number) => Math.floor(n / 1024 / 1024);
  return {
    name: 'disk',
    everyMs,
    async check() {
      const short: string[] = [];
      for (const d of dirs) {
        const s = await statfsNearest(d.path, statfs);
        const free = Number(s.bavail) * Number(s.bsize);
        if (free < minFreeBytes) short.push(`${d.what} has ${mb(free)} MB free`);
      }
      return short.length
        ? { ok: false, detail: `${short.join('; ')}; at least ${mb(minFreeBytes)} MB must be free (REELAY_MIN_FREE_DISK_MB)` }
        : { ok: true };
    },
  };
}
