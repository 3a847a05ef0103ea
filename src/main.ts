import { ConfigError, loadConfig } from './config.ts';
import { runCli } from './cli/commands.ts';
import { isUsageError } from './cli/usage-error.ts';
import { cliName, usageHint } from './cli/help.ts';

/**
 * `reelay <command>`: the one entry point for the server, the admin CLI and the API client commands.
 * Exit codes: 0 ok, 1 error, 2 usage or configuration error (3 and 4: see the client commands).
 * An error is one line; only a usage error adds the command's synopsis (never the whole manual).
 */
async function main(argv: string[]): Promise<number> {
  const prog = cliName(process.env);
  try {
    return await runCli(argv, () => loadConfig(), prog);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (isUsageError(e)) {
      process.stderr.write(`reelay: ${e.message}\n${usageHint(argv, prog, e.showUsage ?? true)}`);
      return 2;
    }
    process.stderr.write(`reelay: ${(e as Error).message}\n`);
    return 1;
  }
}

// `reelay tasks | head -1`: a reader that stops early is not an error (the server keeps its own handling).
if (process.argv[2] !== 'serve') {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
