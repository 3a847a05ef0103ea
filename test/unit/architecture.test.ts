// The shape STYLE.md asks for, checked on every run: the domain depends on
// nothing outside it, and no function grows past 80 lines of its own.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const parse = (file: string) => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);

function imports(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) out.push(n.moduleSpecifier.text);
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(n.arguments[0]!)) out.push(n.arguments[0].text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const isFunction = (n: ts.Node): n is ts.FunctionLikeDeclaration =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n) || ts.isConstructorDeclaration(n);

/** Lines of a function's own body: its span minus the spans of functions nested in it. */
function ownLines(sf: ts.SourceFile, fn: ts.FunctionLikeDeclaration): number {
  const lines = new Set<number>();
  const line = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  for (let l = line(fn.getStart(sf)); l <= line(fn.getEnd()); l++) lines.add(l);
  const strip = (n: ts.Node) => {
    ts.forEachChild(n, (c) => {
      if (isFunction(c)) for (let l = line(c.getStart(sf)); l <= line(c.getEnd()); l++) lines.delete(l);
      else strip(c);
    });
  };
  if (fn.body) strip(fn.body);
  return lines.size;
}

describe('architecture', () => {
  it('src/domain imports nothing from infra, providers, http, worker, webhooks, cli or the root files', () => {
    const outward: string[] = [];
    for (const f of files(join(SRC, 'domain'))) {
      for (const spec of imports(parse(f))) {
        if (!spec.startsWith('.')) continue;
        const target = relative(SRC, join(f, '..', spec));
        if (!target.startsWith('domain/')) outward.push(`${relative(ROOT, f)} → ${spec}`);
      }
    }
    expect(outward).toEqual([]);
  });

  it('no function in src/ has more than 80 lines of its own (nested functions aside)', () => {
    const long: string[] = [];
    for (const f of files(SRC)) {
      const sf = parse(f);
      const visit = (n: ts.Node) => {
        if (isFunction(n)) {
          const own = ownLines(sf, n);
          if (own > 80) long.push(`${relative(ROOT, f)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1} (${own} lines)`);
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(long).toEqual([]);
  });
});
