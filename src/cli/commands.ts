import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { openStore } from '../store.ts';
import { createKeyService } from '../domain/keys.ts';
import { isApiError } from '../domain/errors.ts';
import { serve } from './serve.ts';

export class UsageError extends Error {}

/** Returns the exit code; `serve` resolves only when the server has shut down. */
export async function runCli(argv: string[], config: Config): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') throw new UsageError('no command given');
  if (command === 'serve') {
    const { values } = parseArgs({ args: argv.slice(1), options: { demo: { type: 'boolean', default: false } }, strict: true });
    return serve(config, { demo: values.demo ?? false });
  }
  if (command === 'keys') return keysCommand(sub, rest, config);
  throw new UsageError(`unknown command "${command}"`);
}

async function keysCommand(sub: string | undefined, args: string[], config: Config): Promise<number> {
  const store = await openStore(config);
  const keys = createKeyService(store.keys, Date.now);
  try {
    if (sub === 'create') {
      const { values } = parseArgs({ args, options: { name: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
      if (!values.name) throw new UsageError('keys create needs --name NAME');
      const k = await keys.create(values.name);
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ id: k.id, key: k.key, webhook_secret: k.webhook_secret })}\n`);
      } else {
        process.stdout.write(`Created key ${k.id} (${k.name}). It is shown only once:\n\n  API key:        ${k.key}\n  webhook secret: ${k.webhook_secret}\n`);
      }
      return 0;
    }
    if (sub === 'list') {
      const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
      const all = await keys.list();
      if (values.json) process.stdout.write(`${JSON.stringify(all)}\n`);
      else for (const k of all) process.stdout.write(`${k.id}\t${k.prefix}…\t${k.revoked_at ? 'revoked' : 'active'}\t${k.name}\n`);
      return 0;
    }
    if (sub === 'revoke') {
      const id = args[0];
      if (!id) throw new UsageError('keys revoke needs KEY_ID');
      await keys.revoke(id);
      process.stdout.write(`Revoked ${id}.\n`);
      return 0;
    }
    throw new UsageError(`unknown keys subcommand "${sub ?? ''}"`);
  } catch (e) {
    if (isApiError(e)) {
      process.stderr.write(`reelay: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await store.db.close();
  }
}
