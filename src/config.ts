import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve, join } from 'node:path';
import { z } from 'zod';
import { parseWindow, type OffPeakWindow } from './domain/off-peak.ts';
import { parseChannels, type ChannelConfig } from './providers/upstream/channel-config.ts';

export type { ChannelConfig };

const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => ['1', 'true', 'yes'].includes(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting, by its environment name (API.md §11). A config file may give the same names. */
const Env = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  REELAY_DATA_DIR: z.string().min(1).default('./data'),
  REELAY_PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z.string().optional(),
  /** PostgreSQL schema for Reelay's tables (default: the connection's search_path, normally public). */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _').optional(),
  REELAY_ALLOW_PRIVATE_URLS: bool.default(false),
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  FFPROBE_PATH: z.string().min(1).default('ffprobe'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REELAY_WORKER_CONCURRENCY: int(1, 64).optional(),
  /** How long a worker's claim on a task lasts without renewal; a crashed worker's task is retried after this. */
  REELAY_LEASE_MS: int(500, 3_600_000).default(30_000),
  REELAY_MAX_ATTEMPTS: int(1, 20).default(3),
  /** How long output links (and the outputs) stay valid after a task succeeds. */
  REELAY_OUTPUT_TTL_SECONDS: int(60, 365 * 86400).default(7 * 86400),
  REELAY_URL_SIGNING_SECRET: z.string().min(32).optional(),
  REELAY_IMAGE_FETCH_TIMEOUT_MS: int(100, 120_000).default(15_000),
  /** A request (headers and body) not complete within this is answered 408 and closed (slow clients). */
  REELAY_REQUEST_TIMEOUT_MS: int(1000, 3_600_000).default(120_000),
  /** How long a SQLite write waits for another process's lock before the request gets a 503. */
  REELAY_SQLITE_BUSY_TIMEOUT_MS: int(0, 600_000).default(5000),
  REELAY_WORKER_POLL_MS: int(10, 60_000).default(500),
  /** On SIGTERM/SIGINT, running renders get this long to finish before they are handed back to the queue. */
  REELAY_SHUTDOWN_DEADLINE_MS: int(0, 600_000).default(10_000),
  REELAY_ROLE: z.enum(['api', 'worker', 'all']).default('all'),
  /** Local time window in which off-peak tasks run even while normal tasks wait. */
  OFF_PEAK_WINDOW: z.string().default('00:00-08:00'),
  OFF_PEAK_TIMEZONE: z.string().default('UTC'),
  REELAY_MAX_ACTIVE_TASKS_PER_KEY: int(1, 100_000).default(20),
  REELAY_RATE_LIMIT_PER_MINUTE: int(1, 10_000_000).default(1200),
  /** Calls a second one client address may make to /healthz, /readyz and /metrics together (no key to limit them by). */
  REELAY_PROBES_PER_SECOND: int(1, 1_000_000).default(20),
  /** How long a request past a rate limit (per key, or per address on the operations routes) waits for its 429: slows a client that ignores Retry-After. */
  REELAY_LIMIT_HOLD_MS: int(0, 60_000).default(1000),
  /** Submissions (bodies up to 20 MB) read at once per process; more → 429 server_busy. Bounds memory under bursts. */
  REELAY_MAX_CONCURRENT_SUBMITS: int(1, 10_000).default(32),
  /**
   * Image megapixels one key may have decoded at submit per minute (4k frames are 8.3 MP each), of which it may save up
   * a quarter minute's worth (60 MP: seven 4k frames at once); past it → 429 with Retry-After. 240 a minute is more 4k
   * start images than a key can keep in flight (the active-task limit, 20), while a key looping 4k submit+cancel no
   * longer takes a core of a small machine.
   */
  REELAY_IMAGE_MEGAPIXELS_PER_MINUTE: int(1, 100_000_000).default(240),
  /** Submit body megabytes one key may send per minute (read, parsed, hashed and stored even when refused); past it → 429 before the body is read. */
  REELAY_SUBMIT_MEGABYTES_PER_MINUTE: int(1, 100_000_000).default(240),
  /** Below this much free space where Reelay writes (data dir, scratch), /readyz answers 503. */
  REELAY_MIN_FREE_DISK_MB: int(0, 100_000_000).default(256),
  /** Enables the admin API (/admin/…) for bearers of this token. */
  REELAY_ADMIN_TOKEN: z.string().min(16).optional(),
  REELAY_MAINTENANCE_INTERVAL_MS: int(100, 3_600_000).default(30_000),
  /** Your own catalog entries (same fields as src/domain/models.json): its models are added, same ids replace. */
  REELAY_CATALOG: z.string().min(1).optional(),
  /** The earlier name of REELAY_CATALOG. */
  REELAY_CATALOG_FILE: z.string().min(1).optional(),
  BLOB_STORE: z.enum(['local', 's3']).default('local'),
  S3_ENDPOINT: z.url().optional(),
  S3_BUCKET: z.string().min(3).optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: bool.optional(),
  /** Serve outputs from this public bucket/CDN base instead of presigned links. */
  S3_PUBLIC_BASE_URL: z.url().optional(),
  REELAY_WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(10_000),
  REELAY_WEBHOOK_CONCURRENCY: int(1, 1000).default(16),
  /** Multiplies the retry schedule (tests run a day's schedule in milliseconds). */
  REELAY_WEBHOOK_BACKOFF_SCALE: z.coerce.number().positive().max(1).default(1),
  /** Upstream channels (API.md §11): a provider with credentials set serves its models instead of `local`. */
  GEMINI_API_KEY: z.string().min(1).optional(),
  GEMINI_BASE_URL: z.url().optional(),
  VERTEX_PROJECT: z.string().min(1).optional(),
  VERTEX_LOCATION: z.string().regex(/^[a-z0-9-]{1,64}$/, 'a region such as us-central1, or global, us, eu').default('us-central1'),
  VERTEX_ACCESS_TOKEN: z.string().min(1).optional(),
  /** A service-account key file (JSON); Reelay signs its own short-lived tokens with it. */
  GOOGLE_APPLICATION_CREDENTIALS: z.string().min(1).optional(),
  VERTEX_BASE_URL: z.url().optional(),
  /** gs://bucket/prefix/ for Vertex to write results to (large clips); without it they come back inline. */
  /** The Cloud Storage JSON API that gs:// results are read from (a fake in tests). */
  VERTEX_STORAGE_BASE_URL: z.url().optional(),
  VERTEX_STORAGE_URI: z.string().regex(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,221}(\/.*)?$/, 'gs://bucket/prefix/').optional(),
  VIDU_API_KEY: z.string().min(1).optional(),
  VIDU_BASE_URL: z.url().optional(),
  /** Ask Vidu to call back on state changes; default: on when REELAY_PUBLIC_URL is set (Vidu must reach it). Polling stays as the safety net. */
  VIDU_CALLBACKS: bool.optional(),
  /** Several channels per provider (weights, priorities, own rate limits): a JSON array, see docs/upstreams.md. */
  REELAY_UPSTREAM_CHANNELS: z.string().optional(),
  /** First interval between polls of an upstream job; it grows ×1.5 per poll up to REELAY_UPSTREAM_POLL_MAX_MS. */
  REELAY_UPSTREAM_POLL_MS: int(5, 60_000).default(2000),
  REELAY_UPSTREAM_POLL_MAX_MS: int(5, 600_000).default(10_000),
  /** Upstream polls in flight at once per worker process. */
  REELAY_UPSTREAM_POLL_CONCURRENCY: int(1, 10_000).default(64),
  /** Calls per second to each simple-form channel (a channel in REELAY_UPSTREAM_CHANNELS sets its own). */
  REELAY_UPSTREAM_RATE_PER_SECOND: z.coerce.number().positive().max(100_000).default(20),
  /** One result download (a 500 MB transfer at a slow 10 Mbit/s still fits the default); a hung download fails the task upstream_timeout. */
  REELAY_UPSTREAM_DOWNLOAD_TIMEOUT_MS: int(100, 3_600_000).default(10 * 60_000),
  /** Failed polls (or result downloads) of one job in a row before its task fails; throttling (429) does not count. */
  REELAY_UPSTREAM_MAX_POLL_FAILURES: int(1, 1000).default(10),
  /** Finished upstream videos downloaded, probed and stored at once per worker process. */
  REELAY_UPSTREAM_DOWNLOADS: int(1, 256).default(4),
  /** One create/poll call to an upstream; longer means it hangs. */
  REELAY_UPSTREAM_TIMEOUT_MS: int(100, 300_000).default(30_000),
  /** Give up on an upstream job that has not finished in this long (Veo takes 11 s–6 min). */
  REELAY_UPSTREAM_MAX_WAIT_MS: int(1000, 24 * 3_600_000).default(20 * 60_000),
  /** A channel at fault (credentials refused, no credit, model gone, repeated 5xx) rests this long, doubling per rest in a row… */
  REELAY_CHANNEL_REST_MS: int(100, 24 * 3_600_000).default(30_000),
  /** …up to this. */
  REELAY_CHANNEL_REST_MAX_MS: int(100, 7 * 24 * 3_600_000).default(30 * 60_000),
  /** Transient failures (5xx, timeouts) in a row that rest a channel. */
  REELAY_CHANNEL_FAILURES_TO_REST: int(1, 1000).default(3),
});

export type Env = z.infer<typeof Env>;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly publicUrl: string | undefined;
  readonly databaseFile: string;
  /** PostgreSQL (scale-out); when unset, the SQLite file above. */
  readonly databaseUrl: string | undefined;
  readonly databaseSchema: string | undefined;
  /** REELAY_CATALOG: the operator's catalog file, merged over the built-in one. */
  readonly catalogFile: string | undefined;
  readonly blobStore:
    | { readonly kind: 'local' }
    | { readonly kind: 's3'; readonly bucket: string; readonly region: string; readonly endpoint: string | undefined;
        readonly accessKeyId: string | undefined; readonly secretAccessKey: string | undefined; readonly forcePathStyle: boolean;
        readonly publicBaseUrl: string | undefined };
  readonly blobDir: string;
  readonly allowPrivateUrls: boolean;
  readonly ffmpeg: { readonly ffmpeg: string; readonly ffprobe: string };
  readonly logLevel: Env['LOG_LEVEL'];
  readonly worker: {
    readonly concurrency: number;
    readonly leaseMs: number;
    readonly maxAttempts: number;
    readonly pollMs: number;
  };
  readonly role: Env['REELAY_ROLE'];
  readonly shutdownDeadlineMs: number;
  readonly offPeak: OffPeakWindow;
  readonly maxActiveTasksPerKey: number;
  readonly rateLimitPerMinute: number;
  readonly maxConcurrentSubmits: number;
  readonly imageMegapixelsPerMinute: number;
  readonly submitBytesPerMinute: number;
  readonly probesPerSecond: number;
  readonly limitHoldMs: number;
  readonly minFreeDiskBytes: number;
  readonly adminToken: string | undefined;
  readonly maintenanceIntervalMs: number;
  readonly webhooks: { readonly timeoutMs: number; readonly concurrency: number; readonly backoffScale: number };
  readonly outputTtlSeconds: number;
  readonly urlSigningSecret: string | undefined;
  readonly imageFetchTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly sqliteBusyTimeoutMs: number;
  /** Credentials live here and nowhere else; nothing logs or returns this object. */
  readonly upstreams: {
    readonly channels: readonly ChannelConfig[];
    readonly pollMs: number;
    readonly maxIntervalMs: number;
    readonly pollConcurrency: number;
    readonly downloads: number;
    readonly downloadTimeoutMs: number;
    readonly maxPollFailures: number;
    readonly requestTimeoutMs: number;
    readonly maxWaitMs: number;
    readonly viduCallbacks: boolean;
    /** Channel health: cool-down of a channel at fault, doubling per rest in a row, and transient failures that rest one. */
    readonly restMs: number;
    readonly restMaxMs: number;
    readonly failuresToRest: number;
  };
  readonly limits: {
    /** API.md §3: the whole POST body. */
    readonly bodyBytes: number;
    /** API.md §3: one image file (URL fetches may be larger than a body). */
    readonly imageBytes: number;
    readonly imagePixels: number;
    readonly imageMaxSide: number;
    readonly imageMinSide: number;
  };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parse the environment (and an optional JSON file named by REELAY_CONFIG,
 * whose keys are the same names; the environment wins) once, reporting every
 * bad key together, into a frozen object passed to whoever needs it.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const e = parseEnv(mergeSources(env));
  const problems: string[] = [];
  const offPeak = parseWindow(e.OFF_PEAK_WINDOW, e.OFF_PEAK_TIMEZONE);
  if (!offPeak) problems.push(`OFF_PEAK_WINDOW/OFF_PEAK_TIMEZONE: expected HH:MM-HH:MM and an IANA time zone (got ${JSON.stringify(e.OFF_PEAK_WINDOW)} in ${JSON.stringify(e.OFF_PEAK_TIMEZONE)})`);
  const channels = parseChannels(e, problems);
  problems.push(...crossFieldProblems(e));
  if (problems.length || !offPeak) throw new ConfigError(problems);
  return buildConfig(e, offPeak, channels);
}

/** The environment over the REELAY_CONFIG file (same names; the environment wins). */
function mergeSources(env: Record<string, string | undefined>): Record<string, string | undefined> {
  let fileValues: Record<string, string> = {};
  if (env.REELAY_CONFIG) {
    try {
      const doc = JSON.parse(readFileSync(env.REELAY_CONFIG, 'utf8')) as Record<string, unknown>;
      // Structured values (REELAY_UPSTREAM_CHANNELS) travel as the JSON text the environment would hold.
      fileValues = Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]));
    } catch (e) {
      throw new ConfigError([`REELAY_CONFIG: cannot read ${env.REELAY_CONFIG}: ${(e as Error).message}`]);
    }
  }
  const merged: Record<string, string | undefined> = { ...fileValues };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}

function parseEnv(merged: Record<string, string | undefined>): Env {
  const parsed = Env.safeParse(merged);
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((i) => {
    const key = String(i.path[0] ?? '?');
    // Credentials are never echoed, not even in a boot error.
    const shown = /KEY|TOKEN|SECRET|CHANNELS|CREDENTIALS/.test(key) ? '[redacted]' : JSON.stringify(merged[key]);
    return `${key}: ${i.message} (got ${shown})`;
  }));
}

const isPostgresUrl = (url: string | undefined) => url !== undefined && /^postgres(ql)?:\/\//.test(url);

/** Rules between settings, each reported with the names involved. */
function crossFieldProblems(e: Env): string[] {
  const problems: string[] = [];
  const dbUrl = e.DATABASE_URL;
  if (dbUrl && !isPostgresUrl(dbUrl) && !dbUrl.startsWith('sqlite:') && !dbUrl.startsWith('file:')) {
    problems.push(`DATABASE_URL: expected postgres://… or sqlite:PATH (got a ${dbUrl.split(':')[0]} URL)`);
  }
  if (e.BLOB_STORE === 's3' && !e.S3_BUCKET) problems.push('S3_BUCKET: required when BLOB_STORE=s3');
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    problems.push('S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY: set both or neither (neither: the AWS default credential chain)');
  }
  if (e.REELAY_CHANNEL_REST_MAX_MS < e.REELAY_CHANNEL_REST_MS) problems.push('REELAY_CHANNEL_REST_MAX_MS: must be at least REELAY_CHANNEL_REST_MS');
  if (e.REELAY_UPSTREAM_POLL_MAX_MS < e.REELAY_UPSTREAM_POLL_MS) problems.push('REELAY_UPSTREAM_POLL_MAX_MS: must be at least REELAY_UPSTREAM_POLL_MS');
  return problems;
}

function buildConfig(e: Env, offPeak: OffPeakWindow, channels: ChannelConfig[]): Config {
  const dbUrl = e.DATABASE_URL;
  const isPg = isPostgresUrl(dbUrl);
  const dataDir = resolve(e.REELAY_DATA_DIR);
  const dbFile = dbUrl && !isPg ? dbUrl.replace(/^(sqlite|file):(\/\/)?/, '') : join(dataDir, 'reelay.sqlite');
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir,
    publicUrl: e.REELAY_PUBLIC_URL?.replace(/\/+$/, ''),
    databaseFile: dbFile,
    databaseUrl: isPg ? dbUrl : undefined,
    databaseSchema: e.DATABASE_SCHEMA,
    catalogFile: (e.REELAY_CATALOG ?? e.REELAY_CATALOG_FILE) ? resolve((e.REELAY_CATALOG ?? e.REELAY_CATALOG_FILE)!) : undefined,
    blobStore: e.BLOB_STORE === 's3'
      ? Object.freeze({
        kind: 's3' as const, bucket: e.S3_BUCKET!, region: e.S3_REGION, endpoint: e.S3_ENDPOINT,
        accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY,
        forcePathStyle: e.S3_FORCE_PATH_STYLE ?? Boolean(e.S3_ENDPOINT), publicBaseUrl: e.S3_PUBLIC_BASE_URL,
      })
      : Object.freeze({ kind: 'local' as const }),
    blobDir: join(dataDir, 'blobs'),
    allowPrivateUrls: e.REELAY_ALLOW_PRIVATE_URLS,
    ffmpeg: Object.freeze({ ffmpeg: e.FFMPEG_PATH, ffprobe: e.FFPROBE_PATH }),
    logLevel: e.LOG_LEVEL,
    worker: Object.freeze({
      // Each render already uses several ffmpeg threads; one render per two cores keeps latency sane.
      concurrency: e.REELAY_WORKER_CONCURRENCY ?? Math.max(1, Math.floor(cpus().length / 2)),
      leaseMs: e.REELAY_LEASE_MS,
      maxAttempts: e.REELAY_MAX_ATTEMPTS,
      pollMs: e.REELAY_WORKER_POLL_MS,
    }),
    role: e.REELAY_ROLE,
    shutdownDeadlineMs: e.REELAY_SHUTDOWN_DEADLINE_MS,
    offPeak: Object.freeze(offPeak),
    maxActiveTasksPerKey: e.REELAY_MAX_ACTIVE_TASKS_PER_KEY,
    rateLimitPerMinute: e.REELAY_RATE_LIMIT_PER_MINUTE,
    maxConcurrentSubmits: e.REELAY_MAX_CONCURRENT_SUBMITS,
    imageMegapixelsPerMinute: e.REELAY_IMAGE_MEGAPIXELS_PER_MINUTE,
    submitBytesPerMinute: e.REELAY_SUBMIT_MEGABYTES_PER_MINUTE * 1e6,
    probesPerSecond: e.REELAY_PROBES_PER_SECOND,
    limitHoldMs: e.REELAY_LIMIT_HOLD_MS,
    minFreeDiskBytes: e.REELAY_MIN_FREE_DISK_MB * 1024 * 1024,
    adminToken: e.REELAY_ADMIN_TOKEN,
    maintenanceIntervalMs: e.REELAY_MAINTENANCE_INTERVAL_MS,
    webhooks: Object.freeze({ timeoutMs: e.REELAY_WEBHOOK_TIMEOUT_MS, concurrency: e.REELAY_WEBHOOK_CONCURRENCY, backoffScale: e.REELAY_WEBHOOK_BACKOFF_SCALE }),
    outputTtlSeconds: e.REELAY_OUTPUT_TTL_SECONDS,
    urlSigningSecret: e.REELAY_URL_SIGNING_SECRET,
    imageFetchTimeoutMs: e.REELAY_IMAGE_FETCH_TIMEOUT_MS,
    requestTimeoutMs: e.REELAY_REQUEST_TIMEOUT_MS,
    sqliteBusyTimeoutMs: e.REELAY_SQLITE_BUSY_TIMEOUT_MS,
    upstreams: Object.freeze({
      channels: Object.freeze(channels.map((c) => Object.freeze(c))),
      pollMs: e.REELAY_UPSTREAM_POLL_MS,
      maxIntervalMs: e.REELAY_UPSTREAM_POLL_MAX_MS,
      pollConcurrency: e.REELAY_UPSTREAM_POLL_CONCURRENCY,
      downloads: e.REELAY_UPSTREAM_DOWNLOADS,
      downloadTimeoutMs: e.REELAY_UPSTREAM_DOWNLOAD_TIMEOUT_MS,
      maxPollFailures: e.REELAY_UPSTREAM_MAX_POLL_FAILURES,
      viduCallbacks: e.VIDU_CALLBACKS ?? Boolean(e.REELAY_PUBLIC_URL),
      requestTimeoutMs: e.REELAY_UPSTREAM_TIMEOUT_MS,
      maxWaitMs: e.REELAY_UPSTREAM_MAX_WAIT_MS,
      restMs: e.REELAY_CHANNEL_REST_MS,
      restMaxMs: e.REELAY_CHANNEL_REST_MAX_MS,
      failuresToRest: e.REELAY_CHANNEL_FAILURES_TO_REST,
    }),
    limits: Object.freeze({
      bodyBytes: 20 * 1024 * 1024,
      imageBytes: 50 * 1024 * 1024,
      imagePixels: 100_000_000,
      imageMaxSide: 16_384,
      imageMinSide: 16,
    }),
  });
}
