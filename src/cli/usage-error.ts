/**
 * A command line the CLI cannot run as written: exit code 2. `showUsage` adds
 * the command's synopsis to the message — right for a missing argument or a
 * bad option, noise for a file that cannot be read or a missing API key.
 */
export class UsageError extends Error {
  readonly showUsage: boolean;
  constructor(message: string, o: { showUsage?: boolean } = {}) {
    super(message);
    this.name = 'UsageError';
    this.showUsage = o.showUsage ?? true;
  }
}

/** node:util parseArgs reports unknown options and missing values with codes ERR_PARSE_ARGS_*: usage errors too. */
export function isUsageError(e: unknown): e is Error & { showUsage?: boolean } {
  return e instanceof UsageError || String((e as { code?: unknown } | null)?.code ?? '').startsWith('ERR_PARSE_ARGS');
}
