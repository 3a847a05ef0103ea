import type { Config } from '../config.ts';
import { createReelay } from '../app.ts';
import { runDemo } from './demo.ts';
import { tuneGarbageCollector } from '../infra/gc-tuning.ts';

/**
 * Run until SIGINT (Ctrl-C) or SIGTERM, then shut down gracefully: both stop
 * the worker, whose running renders finish or are handed back to the queue,
 * never failed. A Ctrl-C in a terminal reaches the whole foreground process
 * group, but ffmpeg runs in its own (run-ffmpeg.ts), so Reelay stops it.
 * A second signal exits at once; ffmpeg is still killed on the way out, and a
 * task left processing is taken up again once its lease lapses.
 */
export async function serve(config: Config, opts: { demo: boolean }): Promise<number> {
  // Before the server allocates anything large: see gc-tuning.ts.
  tuneGarbageCollector();
  const app = await createReelay(config);
  const base = await app.listen();
  app.log.info({ url: base, role: config.role, dataDir: config.dataDir }, 'reelay listening');

  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        app.log.warn({ signal }, 'second stop signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      app.log.info({ signal }, `shutting down: running renders finish or go back to the queue within ${config.shutdownDeadlineMs / 1000} s (send ${signal} again to exit now)`);
      app.close(config.shutdownDeadlineMs).then(() => resolve(0), (e) => { app.log.error({ err: e }, 'shutdown failed'); resolve(1); });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  if (opts.demo) {
    runDemo(app, base).catch((e) => app.log.error({ err: e }, 'demo failed'));
  }
  return stopped;
}
