import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on loopback that records requests and answers from a script (default 200). */
export async function startReceiver(host = '127.0.0.1', port = 0) {
  const received: Received[] = [];
  let connections = 0;
  const script: ((res: import('node:http').ServerResponse) => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const next = script.shift();
      if (next) next(res);
      else { res.writeHead(200); res.end('ok'); }
    });
  });
  server.on('connection', () => { connections++; });
  await new Promise<void>((r) => server.listen(port, host, r));
  const addr = server.address() as { port: number };
  return {
    url: `http://${host}:${addr.port}/hooks/reelay?team=a`,
    port: addr.port,
    received,
    get connections() { return connections; },
    /** Queue responses for the next requests. */
    respond(...fns: ((res: import('node:http').ServerResponse) => void)[]) { script.push(...fns); },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export const status = (code: number, headers: Record<string, string> = {}) => (res: import('node:http').ServerResponse) => {
  res.writeHead(code, headers);
  res.end();
};
