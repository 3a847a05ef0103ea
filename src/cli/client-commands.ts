import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { isReelayError, type ImageInput, type Task, type TaskStatus, type VideoCreateParams } from '../sdk/client.ts';
import { TaskStatusSchema } from '../domain/task-schemas.ts';
import { UsageError } from './usage-error.ts';
import { progressReporter, type ProgressStream } from './progress.ts';
import { balanceDetails, bytes, credits, taskDetails, taskRows } from './format.ts';
import { client } from './client-connection.ts';

/**
 * `reelay generate|status|cancel|tasks|credits`: client commands that talk to
 * a running server over its public API, through the SDK. Exit codes: 0 ok,
 * 2 usage, 3 the API answered with an error (or could not be reached),
 * 4 the task ended failed or cancelled.
 */
export const CLIENT_COMMANDS = new Set(['generate', 'status', 'cancel', 'tasks', 'credits']);
export const EXIT = { ok: 0, usage: 2, api: 3, taskFailed: 4 } as const;

type Catalog = Awaited<ReturnType<ReturnType<typeof client>['models']['list']>>['data'];
type CatalogModel = Catalog[number];

/** What the request carries that not every model takes. */
interface Needs { lastFrame: boolean; references: boolean; extend: boolean }

const takes = (m: CatalogModel, n: Needs) =>
  (!n.lastFrame || m.last_frame) && (!n.references || m.reference_images !== null) && (!n.extend || m.extension !== null);

/**
 * Without --model: the same first choice the console makes — the cheapest
 * current, available model with audio at its default size (GET /v1/models) —
 * among the models that take what was given (a last frame, references, an extension).
 */
function defaultModel(data: Catalog, needs: Needs): string {
  const perSecond = (m: CatalogModel) => (m.pricing.credits_per_second[m.default_size] ?? Infinity) + (m.audio ? m.pricing.audio_credits_per_second : 0);
  const able = data.filter((m) => takes(m, needs));
  const current = able.filter((m) => !m.deprecated && m.available);
  const pool = [current.filter((m) => m.audio), current, able].find((l) => l.length) ?? [];
  const best = pool.reduce<CatalogModel | undefined>((b, m) => (!b || perSecond(m) < perSecond(b) ? m : b), undefined);
  if (!best) throw new UsageError('no model on this server takes what was given (see GET /v1/models); pass --model', { showUsage: false });
  return best.id;
}

/** --extend without --model: the model that made the source, if it extends; else the default choice. */
async function modelFor(reelay: ReturnType<typeof client>, needs: Needs, extend: string | undefined): Promise<string> {
  const { data } = await reelay.models.list();
  if (extend !== undefined) {
    const made = (await reelay.videos.get(extend)).model;
    const source = data.find((m) => m.id === made);
    if (source && takes(source, needs)) return source.id;
  }
  return defaultModel(data, needs);
}

export interface ClientIO {
  out: ProgressStream;
  err: ProgressStream;
  env: Record<string, string | undefined>;
  /** How the person ran the CLI (`reelay`, `./bin/reelay`, `npm run reelay --`): the hints we print use it. */
  prog?: string;
  /** Ctrl-C while waiting stops waiting (the task keeps running on the server). */
  onInterrupt?: (stop: () => void) => () => void;
}

const COMMON = {
  'base-url': { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

const writeJson = (io: ClientIO, v: unknown) => io.out.write(`${JSON.stringify(v)}\n`);

function wholeNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} must be a whole number (got ${JSON.stringify(v)})`);
  return Number(v);
}

/** A local file is uploaded; an https:// URL or a data: URI is passed through for the server to read. */
async function imageArg(v: string, flag: string): Promise<ImageInput> {
  if (/^(https?:\/\/|data:)/i.test(v)) return v;
  try {
    return await readFile(v);
  } catch (e) {
    throw new UsageError(`cannot read ${flag} ${v}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { showUsage: false });
  }
}

/** Without --aspect-ratio, follow the start image: portrait → 9:16, otherwise 16:9. */
async function aspectFor(image: ImageInput): Promise<string> {
  if (typeof image === 'string') return '16:9';
  try {
    const { default: sharp } = await import('sharp');
    const m = await sharp(image as Buffer).metadata();
    const w = m.autoOrient?.width ?? m.width, h = m.autoOrient?.height ?? m.height;
    return h > w ? '9:16' : '16:9';
  } catch {
    return '16:9'; // not an image sharp reads: the server will say what is wrong with it
  }
}

const GENERATE_OPTIONS = {
  ...COMMON,
  image: { type: 'string' }, 'last-frame': { type: 'string' }, reference: { type: 'string', multiple: true }, extend: { type: 'string' },
  prompt: { type: 'string' }, model: { type: 'string' }, size: { type: 'string' }, seconds: { type: 'string' }, 'aspect-ratio': { type: 'string' },
  'negative-prompt': { type: 'string' }, seed: { type: 'string' }, 'off-peak': { type: 'boolean' }, 'is-rec': { type: 'boolean' },
  'no-audio': { type: 'boolean' }, 'callback-url': { type: 'string' }, wait: { type: 'boolean', default: false }, out: { type: 'string' },
} as const;
type GenerateValues = ReturnType<typeof parseArgs<{ args: string[]; strict: true; options: typeof GENERATE_OPTIONS }>>['values'];

/** The frames (--image, --last-frame) or the task to continue (--extend): one or the other. */
async function framesOrSource(values: GenerateValues): Promise<Pick<VideoCreateParams, 'images' | 'extend_task_id'>> {
  if (values.extend !== undefined) {
    if (values.image || values['last-frame']) {
      throw new UsageError('--extend continues that task\'s video from its last frame: drop --image and --last-frame');
    }
    if (!/^\S+$/.test(values.extend)) throw new UsageError(`--extend needs a TASK_ID (got ${JSON.stringify(values.extend)})`);
    return { extend_task_id: values.extend };
  }
  if (!values.image) throw new UsageError('generate needs --image FILE (the start frame), or --extend TASK_ID');
  const images = [await imageArg(values.image, '--image')];
  if (values['last-frame']) images.push(await imageArg(values['last-frame'], '--last-frame'));
  return { images };
}

async function generateParams(values: GenerateValues, reelay: ReturnType<typeof client>): Promise<VideoCreateParams> {
  if (values.extend === undefined && !values.image) throw new UsageError('generate needs --image FILE (the start frame), or --extend TASK_ID');
  if (!values.prompt) throw new UsageError(`generate needs --prompt TEXT (${values.extend ? 'how the video goes on' : 'the camera motion to render'})`);
  const frames = await framesOrSource(values);
  const references = await Promise.all((values.reference ?? []).map((r) => imageArg(r, '--reference')));
  const needs = { lastFrame: Boolean(values['last-frame']), references: references.length > 0, extend: values.extend !== undefined };
  // An extension keeps its source's aspect ratio: without --aspect-ratio the server takes it from the source.
  const aspect = values['aspect-ratio'] ?? (frames.images ? await aspectFor((frames.images as ImageInput[])[0]!) : undefined);
  return {
    model: values.model ?? await modelFor(reelay, needs, values.extend),
    prompt: values.prompt,
    ...frames,
    ...(aspect !== undefined && { aspect_ratio: aspect }),
    ...(references.length && { reference_images: references }),
    ...(values.seconds !== undefined && { seconds: wholeNumber(values.seconds, '--seconds')! }),
    ...(values.size !== undefined && { size: values.size }),
    ...(values['negative-prompt'] !== undefined && { negative_prompt: values['negative-prompt'] }),
    ...(values.seed !== undefined && { seed: wholeNumber(values.seed, '--seed')! }),
    ...(values['off-peak'] && { off_peak: true }),
    ...(values['is-rec'] && { is_rec: true }),
    ...(values['no-audio'] && { generate_audio: false }),
    ...(values['callback-url'] !== undefined && { callback_url: values['callback-url'] }),
  } as VideoCreateParams;
}

async function generate(args: string[], io: ClientIO): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: GENERATE_OPTIONS });
  const reelay = client(values, io);
  const params = await generateParams(values, reelay);

  const submitted = await reelay.videos.create(params);
  const wait = values.wait || values.out !== undefined;
  if (!wait) {
    if (values.json) writeJson(io, submitted);
    else io.out.write(`Submitted ${submitted.id}: ${submitted.model}, ${submitted.seconds} s, ${submitted.size}, ${submitted.aspect_ratio} (${credits(submitted.credits.reserved)} credits reserved).\nFollow it with: ${io.prog ?? 'reelay'} status ${submitted.id}\n`);
    return EXIT.ok;
  }

  if (!values.json) io.err.write(`Submitted ${submitted.id} (${credits(submitted.credits.reserved)} credits reserved); waiting for it…\n`);
  const tty = io.err.isTTY === true;
  // With --json, stdout is for the result alone; progress goes to stderr, and only as the live bar.
  const progress = values.json && !tty ? undefined : progressReporter(io.err, { tty });
  const stop = new AbortController();
  const release = io.onInterrupt?.(() => stop.abort()) ?? (() => {});
  let task: Task;
  try {
    task = await reelay.videos.waitUntilDone(submitted.id, { signal: stop.signal, onProgress: (t) => progress?.update(t) });
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
    progress?.finish();
    io.err.write(`Stopped waiting; ${submitted.id} keeps running on the server. Check it with: ${io.prog ?? 'reelay'} status ${submitted.id}\n`);
    return 130;
  } finally {
    release();
    progress?.finish();
  }

  if (task.status !== 'succeeded') {
    if (values.json) writeJson(io, task);
    io.err.write(`reelay: task ${task.id} ${task.status}${task.error ? `: ${task.error.message} (${task.error.code})` : ''}\n`);
    return EXIT.taskFailed;
  }
  let saved = '';
  if (values.out) {
    // Written beside the target and renamed, so an interrupted download never leaves a truncated MP4 under the real name.
    const partial = `${values.out}.part`;
    try {
      await pipeline(Readable.fromWeb(await reelay.videos.downloadStream(task.id) as import('node:stream/web').ReadableStream), createWriteStream(partial));
      await rename(partial, values.out);
    } catch (e) {
      await rm(partial, { force: true });
      throw e;
    }
    saved = `Saved:  ${values.out} (${bytes((await stat(values.out)).size)})\n`;
  }
  if (values.json) writeJson(io, task);
  else {
    const m = task.metadata;
    io.out.write(`${task.id} succeeded${m ? `: ${m.duration} s, ${m.width}x${m.height}${m.has_audio ? ', with audio' : ''}` : ''} (${credits(task.credits.charged)} credits)\nURL:    ${task.url}\n${saved}`);
  }
  return EXIT.ok;
}

function oneTaskId(args: string[], command: string) {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: COMMON });
  if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one TASK_ID`);
  return { values, id: positionals[0]! };
}

async function status(args: string[], io: ClientIO): Promise<number> {
  const { values, id } = oneTaskId(args, 'status');
  const task = await client(values, io).videos.get(id);
  if (values.json) writeJson(io, task);
  else io.out.write(`${taskDetails(task)}\n`);
  return EXIT.ok;
}

async function cancel(args: string[], io: ClientIO): Promise<number> {
  const { values, id } = oneTaskId(args, 'cancel');
  const task = await client(values, io).videos.cancel(id);
  if (values.json) writeJson(io, task);
  else io.out.write(`Cancelled ${task.id} at ${task.progress}%; ${credits(task.credits.refunded)} credits refunded.\n`);
  return EXIT.ok;
}

async function tasks(args: string[], io: ClientIO): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { ...COMMON, limit: { type: 'string' }, status: { type: 'string' } } });
  const limit = wholeNumber(values.limit, '--limit') ?? 20;
  if (limit < 1) throw new UsageError('--limit must be at least 1');
  const statuses = TaskStatusSchema.options as readonly string[];
  if (values.status !== undefined && !statuses.includes(values.status)) throw new UsageError(`--status must be one of ${statuses.join(', ')} (got ${JSON.stringify(values.status)})`);
  const list = client(values, io).videos.list({ limit: Math.min(limit, 100), ...(values.status && { status: values.status as TaskStatus }) });
  const found: Task[] = [];
  for await (const t of list) {
    found.push(t);
    if (found.length >= limit) break;
  }
  if (values.json) writeJson(io, found);
  else io.out.write(found.length ? `${taskRows(found)}\n` : 'No tasks.\n');
  return EXIT.ok;
}

async function balance(args: string[], io: ClientIO): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: COMMON });
  const b = await client(values, io).credits.get();
  if (values.json) writeJson(io, b);
  else io.out.write(`${balanceDetails(b)}\n`);
  return EXIT.ok;
}

const HANDLERS: Record<string, (args: string[], io: ClientIO) => Promise<number>> = { generate, status, cancel, tasks, credits: balance };

/** Run one client command; API errors are printed (and, with --json, written as JSON) and become exit code 3. */
export async function runClientCommand(command: string, args: string[], io: ClientIO): Promise<number> {
  try {
    return await HANDLERS[command]!(args, io);
  } catch (e) {
    if (!isReelayError(e)) throw e;
    const where = [e.code, e.status ? `HTTP ${e.status}` : '', e.requestId ? `request ${e.requestId}` : ''].filter(Boolean).join(', ');
    io.err.write(`reelay: ${e.message} (${where})\n`);
    if (args.includes('--json')) {
      writeJson(io, { error: { type: e.type, code: e.code, message: e.message, param: e.param, status: e.status, request_id: e.requestId } });
    }
    return EXIT.api;
  }
}

/** The process's own streams and environment; SIGINT stops a --wait instead of killing the process. */
export function processIO(prog = 'reelay'): ClientIO {
  return {
    out: process.stdout, err: process.stderr, env: process.env, prog,
    onInterrupt(stop) {
      process.once('SIGINT', stop);
      return () => process.off('SIGINT', stop);
    },
  };
}
