/**
 * The hostile key of `npm run bench -- hostile`, in its own process and from
 * its own loopback address (127.0.0.2), as a real hostile client would be on
 * another machine: its event loop and its request building no longer delay
 * the victim's measured requests, and a per-address limit sees it as the
 * different client it is. Started by hostile.ts with one JSON argument
 * (HostileOrders); prints "ready" once prepared, starts when the deadline
 * arrives on stdin, and prints one JSON line (what its requests got).
 *
 * Its repertoire, all at once until the deadline (each loop keeps going for
 * the whole phase, ignoring Retry-After except where noted): slow multipart uploads (a trickle that holds a connection and a
 * submit slot), submit+cancel loops of an ~11.5 MB 4k PNG whose callbacks go
 * to a receiver that never answers, order=asc listings over its 20 000 tasks,
 * and /readyz floods that never read Retry-After.
 */
import { randomFillSync } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import sharp from 'sharp';

export interface HostileOrders {
  base: string;
  authorization: string;
  hangingUrl: string;
  /** Read from stdin when the phase starts (the process prepares first); 0 in the JSON argument. */
  deadline: number;
  cursors: string[];
  /** Only these parts of the repertoire (uploads, cancels, asc, readyz); all when absent (none: warm-up only). */
  only?: string[];
  /**
   * A third key's authorization: before "ready", one of each of the requests below is sent with it, so
   * the server has run every path the phase will use (as the victim's warm-up does for the victim's)
   * without spending the hostile key's budgets.
   */
  warmAuthorization?: string;
}

const FROM = '127.0.0.2';
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** One request from the hostile address; the body is a Buffer sent as is (no copies: this process shares the CPU too). */
function call(base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer, timeoutMs = 30_000)
  : Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer } | null> {
  return new Promise((resolve) => {
    const req = request(new URL(path, base), {
      method, agent, localAddress: FROM, timeout: timeoutMs,
      headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy()).on('error', () => resolve(null));
    req.end(body);
  });
}

const counter = () => {
  const counts: Record<string, number> = {};
  return { counts, bump: (k: string) => { counts[k] = (counts[k] ?? 0) + 1; } };
};

/** GET `path` in `lanes` loops until the deadline (at most `max` each), never waiting for Retry-After. */
async function hammer(o: HostileOrders, path: () => string, lanes: number, max: number, headers: Record<string, string> = {}) {
  const { counts, bump } = counter();
  const lat: number[] = [];
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = 0; i < max && Date.now() < o.deadline; i++) {
      const t0 = performance.now();
      const r = await call(o.base, 'GET', path(), headers, undefined, 10_000);
      lat.push(performance.now() - t0);
      bump(String(r?.status ?? 'error'));
    }
  }));
  lat.sort((a, b) => a - b);
  return { ...counts, 'p99 ms': Math.round(lat[Math.floor(lat.length * 0.99)] ?? 0) };
}

/** A multipart upload declaring 20 MB, its image part begun: the caller decides how much more (if any) to send. */
function openUpload(o: HostileOrders, authorization: string) {
  const req = request(new URL('/v1/videos', o.base), {
    method: 'POST', localAddress: FROM,
    headers: { authorization, 'content-type': 'multipart/form-data; boundary=xx', 'content-length': String(20e6) },
  });
  req.write('--xx\r\nContent-Disposition: form-data; name="input_reference"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n');
  return req;
}

/** Multipart uploads that send 2 KB every 250 ms of a 20 MB body: each holds a connection (and a submit slot) until refused or the deadline. */
async function slowUploads(o: HostileOrders, lanes: number) {
  const { counts, bump } = counter();
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = 0; i < 10 && Date.now() < o.deadline; i++) {
      bump(await new Promise<string>((resolve) => {
        const req = openUpload(o, o.authorization);
        req.on('response', (res) => { res.resume(); resolve(String(res.statusCode)); });
        req.on('error', () => resolve('reset'));
        const tick = setInterval(() => {
          if (Date.now() >= o.deadline) { clearInterval(tick); req.destroy(); resolve('held to the end'); return; }
          req.write(Buffer.alloc(2048, 7));
        }, 250);
        req.on('close', () => clearInterval(tick));
      }));
    }
  }));
  return counts;
}

/** An ~11.5 MB PNG at 3840×2160: noise over the top 46 % (incompressible), flat below. */
async function bigPng(): Promise<Buffer> {
  const [w, h] = [3840, 2160];
  const raw = Buffer.alloc(w * h * 3, 90);
  randomFillSync(raw, 0, Math.floor(h * 0.46) * w * 3);
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

/** The 4k task as a multipart body (built once per loop: this process shares the CPU too) and its headers. */
async function bigSubmit(o: HostileOrders, png: Buffer, authorization: string) {
  const form = new FormData();
  for (const [k, v] of Object.entries({ model: 'veo-3.0-fast-generate-001', prompt: 'big', aspect_ratio: '16:9', seconds: '8', size: '4k', callback_url: o.hangingUrl })) form.set(k, v);
  form.set('images', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'big.png');
  const encoded = new Response(form);
  return { headers: { authorization, 'content-type': encoded.headers.get('content-type')! }, body: Buffer.from(await encoded.arrayBuffer()) };
}

/** Submit the 4k PNG (multipart) with a callback to the receiver that never answers, then cancel it: a full refund each time. */
async function submitCancel(o: HostileOrders, png: Buffer, lanes: number) {
  const { counts, bump } = counter();
  // The body is built once.
  const { headers, body } = await bigSubmit(o, png, o.authorization);
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = 0; i < 100_000 && Date.now() < o.deadline; i++) {
      const r = await call(o.base, 'POST', '/v1/video/generations', headers, body);
      bump(`submit ${r?.status ?? 'error'}`);
      if (r?.status === 429) await sleep(200);
      const id = r?.status === 200 ? (JSON.parse(r.body.toString('utf8')) as { id?: string }).id : undefined;
      if (!id) continue;
      // The point is the refund: a cancel refused by the rate limit is retried after Retry-After (bounded).
      for (let tries = 0; tries < 20; tries++) {
        const c = await call(o.base, 'POST', `/v1/video/generations/${id}/cancel`, { authorization: o.authorization }, undefined, 10_000);
        bump(`cancel ${c?.status ?? 'error'}`);
        if (c?.status !== 429) break;
        await sleep(1000 * Math.min(5, Number(c.headers['retry-after'] ?? 1)));
      }
    }
  }));
  return counts;
}

/** The first line on stdin: the deadline (ms since the epoch), sent once the parent starts the phase. */
function readDeadline(): Promise<number> {
  return new Promise((resolve) => {
    let buf = '';
    process.stdin.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) { process.stdin.pause(); resolve(Number(buf.split('\n')[0])); }
    });
  });
}

/**
 * One of each request of the repertoire, with the warm-up key and none of the loops: a 4k multipart submit
 * and its cancel (and submits past the key's budgets until one is refused, for the 429 paths), an
 * order=asc page from its own task, /readyz, and a multipart upload cut off half way.
 */
async function warmUp(o: HostileOrders, png: Buffer): Promise<Record<string, number>> {
  const { counts, bump } = counter();
  const auth = { authorization: o.warmAuthorization! };
  const { headers, body } = await bigSubmit(o, png, o.warmAuthorization!);
  let first: string | undefined;
  for (let i = 0; i < 12; i++) {
    const r = await call(o.base, 'POST', '/v1/video/generations', headers, body);
    bump(`submit ${r?.status ?? 'error'}`);
    const id = r?.status === 200 ? (JSON.parse(r.body.toString('utf8')) as { id?: string }).id : undefined;
    if (id) {
      first ??= id;
      bump(`cancel ${(await call(o.base, 'POST', `/v1/video/generations/${id}/cancel`, auth))?.status ?? 'error'}`);
    }
    if (r?.status === 429) break;
  }
  if (first) bump(`list ${(await call(o.base, 'GET', `/v1/videos?order=asc&limit=100&after=${first}`, auth))?.status ?? 'error'}`);
  bump(`readyz ${(await call(o.base, 'GET', '/readyz', {}))?.status ?? 'error'}`);
  bump(`cut upload ${await new Promise<string>((resolve) => {
    const req = openUpload(o, auth.authorization);
    req.on('error', () => resolve('reset'));
    req.write(png.subarray(0, 1 << 20), () => setTimeout(() => { req.destroy(); resolve('cut'); }, 200));
  })}`);
  return counts;
}

async function main(orders: HostileOrders): Promise<void> {
  // Built before the phase starts: encoding a 4k PNG takes this process's CPU for a second or two.
  const png = await bigPng();
  const warm = orders.warmAuthorization ? await warmUp(orders, png) : undefined;
  process.stdout.write('ready\n');
  const o = { ...orders, deadline: await readDeadline() };
  const cpu0 = process.cpuUsage();
  let page = 0;
  const on = (part: string) => !o.only || o.only.includes(part);
  const auth = { authorization: o.authorization };
  const [uploads, cancels, asc, readyz] = await Promise.all([
    on('uploads') ? slowUploads(o, 6) : {},
    on('cancels') ? submitCancel(o, png, 3) : {},
    on('asc') ? hammer(o, () => `/v1/videos?order=asc&limit=100&after=${o.cursors[page++ % o.cursors.length]}`, 3, 1_000_000, auth) : {},
    on('readyz') ? hammer(o, () => '/readyz', 4, 1_000_000) : {},
  ]);
  agent.destroy();
  // What the load itself cost this machine's CPU: on one VM it competes with the server and the victim's client for the same cores.
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({
    'own CPU': { 'user s': Math.round(cpu.user / 1e5) / 10, 'system s': Math.round(cpu.system / 1e5) / 10 },
    png: { MB: Math.round(png.length / 1e5) / 10 }, ...(warm ? { 'warm-up (third key, before the clock)': warm } : {}), 'slow uploads': uploads, 'submit+cancel': cancels, 'order=asc lists': asc, '/readyz': readyz,
  })}\n`);
}

await main(JSON.parse(process.argv[2]!) as HostileOrders);
