/**
 * node:util parseArgs reads `-200` as the short options -2 -0 -0, so
 * `credits grant KEY -200` would need a `--`. For commands whose positionals
 * may be negative numbers: options (with the value of those in `valueOptions`)
 * stay in front, every positional — `-200` included — goes behind one `--`,
 * in the order given. An explicit `--` still works.
 */
export function negativeNumbersAsPositionals(args: readonly string[], valueOptions: ReadonlySet<string>): string[] {
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || /^-\d/.test(a)) {
      positionals.push(a);
      continue;
    }
    options.push(a);
    if (valueOptions.has(a) && i + 1 < args.length) options.push(args[++i]!);
  }
  return [...options, '--', ...positionals];
}
