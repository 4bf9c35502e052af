// The import rules of docs/architecture.md, checked on every run: no cycle between source
// files, the import direction (domain subsystems never reach http/, Fastify, gatehouse.ts or
// another subsystem's tables; http/ never reaches the ORM), and the size of a source file.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const sources = ['packages/server/src', 'packages/client/src'];
const MAX_LINES = 400;

/** Folders under packages/server/src that are the edges rather than a domain subsystem. */
const EDGES = new Set(['http', 'cli', 'testing']);
const EDGE_FILES = new Set(['gatehouse.ts', 'index.ts']);

interface SourceFile {
  path: string;
  text: string;
  imports: string[];
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function read(path: string): SourceFile {
  const text = readFileSync(path, 'utf8');
  const imports = [...text.matchAll(IMPORT)].map((match) => match[1] ?? match[2] ?? '');
  return { path: relative(root, path), text, imports };
}

const files = sources.flatMap((dir) => walk(join(root, dir))).map(read);
const byPath = new Map(files.map((file) => [file.path, file]));

function localTargets(file: SourceFile): string[] {
  return file.imports
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(root, resolve(root, dirname(file.path), specifier)))
    .filter((target) => byPath.has(target));
}

/** The subsystem a server source file belongs to, or undefined for the edges and the client. */
function subsystemOf(path: string): string | undefined {
  const inServer = relative('packages/server/src', path);
  if (inServer.startsWith('..')) return undefined;
  const [first, ...rest] = inServer.split('/');
  if (rest.length === 0) return EDGE_FILES.has(first ?? '') ? undefined : '(root)';
  return EDGES.has(first ?? '') ? undefined : first;
}

describe('architecture', () => {
  it('has no import cycle between source files', () => {
    // Tarjan's strongly connected components over the local import graph.
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    let counter = 0;
    const visit = (path: string): void => {
      index.set(path, counter);
      low.set(path, counter);
      counter += 1;
      stack.push(path);
      onStack.add(path);
      for (const target of localTargets(byPath.get(path) as SourceFile)) {
        if (!index.has(target)) {
          visit(target);
          low.set(path, Math.min(low.get(path) as number, low.get(target) as number));
        } else if (onStack.has(target)) {
          low.set(path, Math.min(low.get(path) as number, index.get(target) as number));
        }
      }
      if (low.get(path) === index.get(path)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== path);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const file of files) if (!index.has(file.path)) visit(file.path);
    expect(cycles).toEqual([]);
  });

  it('keeps domain subsystems away from http/, Fastify, gatehouse.ts and other subsystems’ tables', () => {
    const breaches: string[] = [];
    for (const file of files) {
      const own = subsystemOf(file.path);
      if (own === undefined) continue;
      for (const specifier of file.imports) {
        if (specifier === 'fastify' || specifier.startsWith('@fastify/')) {
          breaches.push(`${file.path} imports ${specifier}`);
        }
      }
      for (const target of localTargets(file)) {
        const inServer = relative('packages/server/src', target);
        if (
          inServer.startsWith('http/') ||
          inServer.startsWith('cli/') ||
          inServer === 'gatehouse.ts'
        ) {
          breaches.push(`${file.path} imports ${target}`);
        }
        // A table may reference another subsystem's table (a foreign key); code may not.
        const isTables = target.endsWith('/tables.ts');
        if (isTables && subsystemOf(target) !== own && !file.path.endsWith('/tables.ts')) {
          breaches.push(`${file.path} imports ${target}`);
        }
      }
    }
    expect(breaches).toEqual([]);
  });

  it('keeps the ORM and the tables out of http/', () => {
    const breaches = files
      .filter((file) => file.path.startsWith('packages/server/src/http/'))
      .flatMap((file) =>
        [
          ...file.imports.filter((specifier) => specifier.startsWith('drizzle-orm')),
          ...localTargets(file).filter((target) => target.endsWith('/tables.ts')),
        ].map((what) => `${file.path} imports ${what}`),
      );
    expect(breaches).toEqual([]);
  });

  it(`keeps every source file under ${MAX_LINES} lines`, () => {
    const long = files
      .map((file) => ({ path: file.path, lines: file.text.split('\n').length }))
      .filter((file) => file.lines > MAX_LINES)
      .map((file) => `${file.path}: ${file.lines} lines`);
    expect(long).toEqual([]);
  });
});
