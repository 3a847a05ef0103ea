import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What a fake was sent, for assertions. */
export interface Recorded { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: unknown }

/** A scripted answer for the next call of a kind: an HTTP error, a hang (never answers), or a non-JSON body. */
export type Scripted = { status: number; message?: string } | 'hang' | 'malformed';

let mp4: Buffer | null = null;
/** A real small MP4 (1 s, 320×180, H.264), rendered once per process with ffmpeg. */
export function sampleMp4(): Buffer {
  if (mp4) return mp4;
  const dir = mkdtempSync(join(tmpdir(), 'reelay-fake-'));
  const out = join(dir, 'out.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=24', '-t', '1', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', out]);
  mp4 = readFileSync(out);
  rmSync(dir, { recursive: true, force: true });
  return mp4;
}

export interface FakeServer {
  origin: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, rec: Recorded, raw: Buffer) => void | Promise<void>;

export interface FakeOptions {
  /** Answer every request this much later (an upstream's round trip). */
  latencyMs?: number;
  /** Keep every request in `requests` (default); benchmarks with millions of calls turn it off. */
  record?: boolean;
}

/** A loopback HTTP server that records every request and hands it to `handler`. */
export async function startFake(handler: Handler, opts: FakeOptions = {}): Promise<FakeServer & { server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: unknown = raw.length ? raw.toString('utf8') : undefined;
      if (raw.length && String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        try { body = JSON.parse(raw.toString('utf8')); } catch { body = raw.toString('utf8'); }
      }
      const rec: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      if (opts.record !== false) requests.push(rec);
      const handle = () => Promise.resolve(handler(req, res, rec, raw)).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      });
      if (opts.latencyMs) setTimeout(handle, opts.latencyMs);
      else void handle();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    origin, requests, server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Plays a scripted answer; returns false when the request should be served normally. */
export function playScript(s: Scripted | undefined, res: ServerResponse, errorBody: (status: number, message: string) => unknown): boolean {
  if (s === undefined) return false;
  if (s === 'hang') return true; // never answer; the client's timeout must end it
  if (s === 'malformed') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"name": "models/x/operations/');
    return true;
  }
  sendJson(res, s.status, errorBody(s.status, s.message ?? `scripted HTTP ${s.status}`));
  return true;
}

export const isJson = (req: IncomingMessage) => String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';

/** A base64 string that decodes to something (loose check as the real APIs do). */
export const isB64 = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && /^[A-Za-z0-9+/=]+$/.test(v);
