import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startChild } from '../helpers/child-server.ts';

/**
 * A large upload refused before its body is read (here: the key's submit byte budget) is answered with
 * `connection: close`. The server runs in its own process, as in production: in one process the client read
 * the answer in the same event-loop turn as the server closed, which hid the race below.
 */
describe('a refused upload', () => {
  let server: Awaited<ReturnType<typeof startChild>>;
  let key: string;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'reelay-refused-'));
    // A quarter minute's worth saved up: 1 MB, so every upload below is refused on its headers.
    const env = { REELAY_DATA_DIR: dataDir, REELAY_SUBMIT_MEGABYTES_PER_MINUTE: '4', REELAY_ROLE: 'api', REELAY_LIMIT_HOLD_MS: '0' };
    const created = await cli(['keys', 'create', '--name', 'uploads', '--json'], env);
    key = (JSON.parse(created.stdout) as { key: string }).key;
    server = await startChild(env);
  });
  afterAll(async () => {
    server?.child.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reaches a client still sending its body: 429 with the error, never EPIPE or a reset', async () => {
    // Node's http client keeps writing the body after the answer has come. Closing the socket at once left
    // that body unread, the kernel answered it with a reset, and the client lost the answer: measured 66 of 89.
    const agent = new Agent({ keepAlive: true });
    const body = Buffer.alloc(8e6, 0x41);
    const send = () => new Promise<string>((resolve) => {
      const req = request(new URL('/v1/video/generations', server.base), {
        agent, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': String(body.length) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
          const code = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: string } }).error?.code;
          resolve(`${res.statusCode} ${code} ${res.headers.connection}`);
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
      req.end(body);
    });
    // The first is read (a key may go into debt by one body) and refused by its rules; it puts the key in debt.
    expect(await send()).toMatch(/^400 invalid_json/);
    const outcomes: string[] = [];
    await Promise.all(Array.from({ length: 3 }, async () => {
      for (let i = 0; i < 10; i++) outcomes.push(await send());
    }));
    agent.destroy();
    expect(outcomes.filter((o) => o !== '429 rate_limited close')).toEqual([]);
  });

  it('is closed by the server after its answer, also when the client never finishes the body', async () => {
    const socket = connect(Number(new URL(server.base).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.write(`POST /v1/video/generations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: 8000000\r\n\r\n{"model":`);
    // The client never sends the rest and never closes: the server does, after its answer.
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer).toContain('"rate_limited"');
  });
});
