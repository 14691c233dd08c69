/**
 * Layers only point down. Every folder of src/ has a rank (docs/ARCHITECTURE.md,
 * "Layers"); a file may import from its own layer or from a layer of lower
 * rank, never from a higher one nor from another layer of the same rank
 * (peers are unrelated: quantize does not reach into train). The imports are
 * read from the source text of every file under src/ (static, re-exports,
 * type-only and dynamic), and a line opening an import the reader did not
 * understand fails the test too, so nothing slips past it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The rank of each layer (a top folder of src/, or codec/container), low to high. */
const LAYERS: Record<string, number> = {
  core: 0,
  codec: 1,
  formats: 1,
  'codec/container': 2,
  data: 2,
  graph: 2,
  runtime: 3,
  eval: 4,
  quantize: 4,
  train: 4,
  prune: 5,
  compress: 5,
  recipes: 6,
  report: 7,
  browser: 8,
  lib: 8,
  node: 8,
  cli: 9,
};

const SRC = 'src';

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The layer a path under src/ belongs to ('' for a file directly in src/). */
function layerOf(path: string): string {
  const parts = relative(SRC, path).split(sep);
  if (parts.length === 1) return '';
  if (parts[0] === 'codec' && parts[1] === 'container' && parts.length > 2) return 'codec/container';
  return parts[0]!;
}

const STATIC_IMPORT =
  /^[ \t]*(?:import|export)(?:[ \t]+type)?\s*(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+\w+))?)\s*from\s*['"]([^'"]+)['"]/gm;
const SIDE_EFFECT_IMPORT = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
/** Lines that open an import declaration; each must be the start of one the patterns above read. */
const IMPORT_LINE = /^[ \t]*import(?=[\s{*'"])/gm;

interface Import {
  readonly line: number;
  readonly specifier: string;
}

function lineAt(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Every module specifier `text` imports, and the lines opening an import that no pattern read. */
function importsOf(text: string): { imports: Import[]; unread: number[] } {
  const imports: Import[] = [];
  const starts = new Set<number>();
  for (const re of [STATIC_IMPORT, SIDE_EFFECT_IMPORT, DYNAMIC_IMPORT]) {
    for (const m of text.matchAll(re)) {
      const line = lineAt(text, m.index + (m[0].length - m[0].trimStart().length));
      imports.push({ line, specifier: m[1]! });
      starts.add(line);
    }
  }
  const unread = [...text.matchAll(IMPORT_LINE)].map((m) => lineAt(text, m.index + m[0].length - 6)).filter((l) => !starts.has(l));
  return { imports, unread };
}

/** The src/ file a relative specifier names (`./x.js` is `./x.ts`). */
function resolveImport(from: string, specifier: string): string {
  const target = resolve(dirname(from), specifier);
  return relative(process.cwd(), target.endsWith('.js') ? `${target.slice(0, -3)}.ts` : target);
}

const files = sourceFiles(SRC);

describe('layers only point down', () => {
  it('every folder of src/ has a rank and no file sits directly in src/', () => {
    const unranked = [...new Set(files.map(layerOf))].filter((l) => !(l in LAYERS)).map((l) => l || '(src/ itself)');
    expect(unranked, 'give these a rank in LAYERS (and in docs/ARCHITECTURE.md, "Layers")').toEqual([]);
  });

  it('the import reader reads every import declaration', () => {
    const unread = files.flatMap((f) => importsOf(readFileSync(f, 'utf8')).unread.map((l) => `${f}:${l}`));
    expect(unread, 'import declarations this test could not parse').toEqual([]);
  });

  it('no file under src/ imports from a higher layer or from a peer layer of the same rank', () => {
    const offenders: string[] = [];
    for (const f of files) {
      const from = layerOf(f);
      for (const { line, specifier } of importsOf(readFileSync(f, 'utf8')).imports) {
        if (!specifier.startsWith('.')) continue; // packages and node: built-ins (browser-bundle.test.ts polices those)
        const target = resolveImport(f, specifier);
        const where = `${f}:${line} imports '${specifier}'`;
        if (!target.startsWith(`${SRC}${sep}`)) {
          offenders.push(`${where}, outside src/`);
          continue;
        }
        if (!existsSync(target)) {
          offenders.push(`${where}, which does not resolve to a .ts file`);
          continue;
        }
        const to = layerOf(target);
        if (to === from) continue;
        const [a, b] = [LAYERS[from], LAYERS[to]];
        if (a === undefined || b === undefined) continue; // reported by the first test
        if (b > a) offenders.push(`${where}: ${from} (rank ${a}) -> ${to} (rank ${b}) points up`);
        else if (b === a) offenders.push(`${where}: ${from} -> ${to} are unrelated peers (both rank ${a})`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no CLI command imports another command (shared helpers live outside the command files)', () => {
    const dir = join(SRC, 'cli', 'commands');
    const isCommand = (p: string): boolean => existsSync(p) && /^export (?:async )?function register\b/m.test(readFileSync(p, 'utf8'));
    const offenders: string[] = [];
    for (const f of files.filter((p) => dirname(p) === dir && isCommand(p))) {
      for (const { line, specifier } of importsOf(readFileSync(f, 'utf8')).imports) {
        if (!specifier.startsWith('.')) continue;
        const target = resolveImport(f, specifier);
        if (target !== f && dirname(target) === dir && isCommand(target)) offenders.push(`${f}:${line} imports command '${specifier}'`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
