/**
 * The baseline: a bare Fastify 5 app with one GET route that returns a fixed
 * JSON object (parsed, so Fastify serialises it on every request as Reelay
 * does). No hooks, no auth, no database, no logger.
 *
 *   node bench/servers/bare-server.ts BODY.json      (or the JSON in $BENCH_BARE_BODY)
 *
 * Prints {"base":"http://127.0.0.1:PORT"} once listening; serves until
 * SIGTERM/SIGINT or until its stdin pipe closes (the parent died).
 */
import { fstatSync, readFileSync } from 'node:fs';
import Fastify from 'fastify';

const source = process.argv[2] ? readFileSync(process.argv[2], 'utf8') : process.env.BENCH_BARE_BODY;
if (!source) {
  process.stderr.write('usage: node bench/servers/bare-server.ts BODY.json (or set BENCH_BARE_BODY)\n');
  process.exit(2);
}
const body = JSON.parse(source) as unknown;

const app = Fastify({ logger: false });
// Same shape as Reelay's route, so the router does the same parameter work.
app.get(process.env.BENCH_BARE_ROUTE ?? '/v1/video/generations/:task_id', async () => body);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  app.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
// Stdin EOF means the parent died, but only when stdin is its pipe (not /dev/null or a tty).
if (fstatSync(0).isFIFO() || fstatSync(0).isSocket()) {
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}

const base = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ base })}\n`);
