import type { Config } from '../config.ts';
import { createReelay } from '../app.ts';
import { runDemo } from './demo.ts';

/** Run until SIGINT/SIGTERM, then shut down gracefully (renders finish or are handed back). */
export async function serve(config: Config, opts: { demo: boolean }): Promise<number> {
  const app = await createReelay(config);
  const base = await app.listen();
  app.log.info({ url: base, role: config.role, dataDir: config.dataDir }, 'reelay listening');

  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.log.info({ signal }, 'shutting down');
      app.close(10_000).then(() => resolve(0), (e) => { app.log.error({ err: e }, 'shutdown failed'); resolve(1); });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

  if (opts.demo) {
    runDemo(app, base).catch((e) => app.log.error({ err: e }, 'demo failed'));
  }
  return stopped;
}
