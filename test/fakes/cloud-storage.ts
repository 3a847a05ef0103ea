// A strict stand-in for the Cloud Storage JSON API's media download:
// GET /storage/v1/b/{bucket}/o/{percent-encoded object}?alt=media with a
// Bearer token. It serves what the fake Vertex "wrote" there.
import { sendJson, startFake, type FakeServer } from './http-fake.ts';
import { bearerProblem, googleError, type BearerCheck } from './google-auth.ts';

export interface StorageFake extends FakeServer {
  /** The base URL to configure as VERTEX_STORAGE_BASE_URL. */
  baseUrl: string;
  /** `bucket/object` → bytes. */
  objects: Map<string, Buffer>;
  put(bucket: string, object: string, data: Buffer): void;
  /** Answer the next downloads with a 302 to these URLs (a signed URL elsewhere, say). */
  redirectNext: string[];
  downloads: number;
}

export async function startStorageFake(auth: BearerCheck): Promise<StorageFake> {
  const fake: Partial<StorageFake> = { objects: new Map(), redirectNext: [], downloads: 0 };
  fake.put = (bucket, object, data) => { fake.objects!.set(`${bucket}/${object}`, data); };
  const server = await startFake((req, res, rec) => {
    const problem = bearerProblem(req, auth);
    if (problem) return sendJson(res, 401, googleError(401, problem));
    // The object name is one path segment: a raw "/" in it would be a different (and wrong) URL.
    const m = /^\/storage\/v1\/b\/([^/?]+)\/o\/([^/?]+)\?(.*)$/.exec(rec.path);
    if (!m || req.method !== 'GET') return sendJson(res, 404, googleError(404, 'Not Found'));
    const [, bucket, object, query] = m.map((s) => decodeURIComponent(s!)) as [string, string, string, string];
    if (new URLSearchParams(query).get('alt') !== 'media') return sendJson(res, 400, googleError(400, 'This fake serves media downloads only (alt=media).'));
    const data = fake.objects!.get(`${bucket}/${object}`);
    if (!data) return sendJson(res, 404, googleError(404, `No such object: ${bucket}/${object}`));
    const redirect = fake.redirectNext!.shift();
    if (redirect) { res.writeHead(302, { location: redirect }).end(); return; }
    fake.downloads!++;
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': data.length });
    res.end(data);
  });
  return Object.assign(fake, server, { baseUrl: server.origin }) as StorageFake;
}
