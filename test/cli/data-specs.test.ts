/** The data-spec language through the CLI: .npz inputs by name and dtype, image folders, and the errors of bad data. */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTensor, type Tensor } from '../../src/core/tensor.js';
import { encodeNpy } from '../../src/eval/datasets/npy.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import type { EvalRecord } from '../../src/report/record.js';
import { classMeanFixture, OCR, storedNpz, type ClassMeanFixture } from '../eval/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-data-specs-'));
const i64 = (shape: number[], values: number[]) => makeTensor('int64', shape, new Uint8Array(BigInt64Array.from(values, BigInt).buffer));
const i32 = (shape: number[], values: number[]) => makeTensor('int32', shape, new Uint8Array(Int32Array.from(values).buffer));
const f32 = (shape: number[], values: number[]) => makeTensor('float32', shape, new Uint8Array(Float32Array.from(values).buffer));
function npz(name: string, members: Record<string, Tensor>): string {
  const path = join(dir, name);
  writeFileSync(path, storedNpz(Object.fromEntries(Object.entries(members).map(([k, t]) => [k, encodeNpy(t)]))));
  return path;
}

/** Token ids (int64) and a float mask into an embedding table; a third input with an unbound symbolic dim. */
function tokenModel(): string {
  const b = new GraphBuilder();
  b.input('ids', 'int64', ['batch', 5]);
  b.input('mask', 'float32', ['batch', 5, 1]);
  b.input('extra', 'float32', ['k']);
  const table = b.constant(
    'float32',
    [16, 4],
    Array.from({ length: 64 }, (_, i) => i / 10),
  );
  b.node('Gather', [table, 'ids'], { outputs: ['emb'] });
  b.node('Mul', ['emb', 'mask'], { outputs: ['masked'] });
  b.node('Identity', ['extra'], { outputs: ['extra_out'] });
  b.output('masked', 'float32', ['batch', 5, 4]);
  b.output('extra_out', 'float32', ['k']);
  const path = join(dir, 'tokens.onnx');
  writeFileSync(path, writeOnnx(makeModel(b.graph)));
  return path;
}

const n = 6;
const idValues = Array.from({ length: n * 5 }, (_, i) => (i * 7) % 16);
const maskValues = Array.from({ length: n * 5 }, (_, i) => i % 2);
let model: string;
let fx: ClassMeanFixture;
beforeAll(() => {
  model = tokenModel();
  fx = classMeanFixture();
});

const evalArgs = ['--no-latency', '--json'];

describe('.npz arrays feed model inputs by name, in the dtype the model takes', () => {
  it('int64 token ids and a float mask, by name; the unfed input gets its symbolic dim set to 1 with a note', async () => {
    const file = npz('tokens.npz', { mask: f32([n, 5, 1], maskValues), ids: i64([n, 5], idValues) });
    const r = await cli('eval', model, '--data', file, ...evalArgs);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("note: symbolic dim 'k' of input 'extra' set to 1");
    const rec = JSON.parse(r.out) as EvalRecord;
    expect(rec.data.samples).toBe(n);
    expect(rec.data.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['mask', 'float32', [1, 5, 1]],
      ['ids', 'int64', [1, 5]],
    ]);
  });

  it('int32 ids convert exactly to the int64 input: the outputs equal those of the int64 file', async () => {
    const a = npz('ids64.npz', { ids: i64([n, 5], idValues), mask: f32([n, 5, 1], maskValues) });
    const b = npz('ids32.npz', { ids: i32([n, 5], idValues), mask: f32([n, 5, 1], maskValues) });
    const base = join(dir, 'tokens.onnx');
    // Both feed int64 ids (data/bind.test.ts checks the conversion is exact).
    const ra = await cli('eval', base, '--data', a, '--ref', base, ...evalArgs);
    const rb = await cli('eval', base, '--data', b, '--ref', base, ...evalArgs);
    expect(ra.code, ra.err).toBe(0);
    expect(rb.code, rb.err).toBe(0);
    const [ja, jb] = [JSON.parse(ra.out) as EvalRecord, JSON.parse(rb.out) as EvalRecord];
    expect(jb.data.inputs).toEqual(ja.data.inputs);
    expect(jb.data.inputs.find((i) => i.name === 'ids')!.dtype).toBe('int64');
  });

  it('refuses float values for the int64 input, naming the file, array, input and dtypes', async () => {
    const file = npz('float-ids.npz', { ids: f32([n, 5], idValues), mask: f32([n, 5, 1], maskValues) });
    const r = await cli('eval', model, '--data', file, ...evalArgs);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_FORMAT]');
    expect(r.err).toContain(`${file}: array 'ids' holds float32, model input 'ids' takes int64`);
    expect(r.out).toBe('');
  });

  it('refuses arrays that match no input name, listing both', async () => {
    const file = npz('names.npz', { input_ids: i64([n, 5], idValues), attention: f32([n, 5, 1], maskValues) });
    const r = await cli('eval', model, '--data', file, ...evalArgs);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_NOT_FOUND]');
    expect(r.err).toContain(file);
    expect(r.err).toContain("the model's inputs: 'ids', 'mask', 'extra'; the data's arrays: 'input_ids', 'attention'");
  });

  it('refuses a wrong shape, saying which dims', async () => {
    const file = npz('shape.npz', { ids: i64([n, 4], idValues.slice(0, n * 4)), mask: f32([n, 5, 1], maskValues) });
    const r = await cli('eval', model, '--data', file, ...evalArgs);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_SHAPE]');
    expect(r.err).toContain(`${file}: array 'ids': dataset samples of shape [4] (4 values) cannot fit model input 'ids' [batch, 5]`);
  });

  it('refuses labels of the wrong length, and arrays of different example counts', async () => {
    const images = makeTensor('uint8', [10, 28, 28], new Uint8Array(7840));
    const file = npz('labels.npz', { x: images, y: i64([9], new Array(9).fill(1)) });
    const r = await cli('eval', fx.model, '--data', file, ...evalArgs);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_SHAPE]');
    expect(r.err).toMatch(new RegExp(`${file}: array 'x' has 10 samples .* but 'y' has shape \\[9\\]`));
    const counts = npz('counts.npz', { ids: i64([n, 5], idValues), mask: f32([n - 1, 5, 1], maskValues.slice(5)) });
    const c = await cli('eval', model, '--data', counts, ...evalArgs);
    expect(c.code).toBe(1);
    expect(c.err).toContain(`array 'mask' has 5 examples [5, 5, 1], 'ids' has 6`);
    const training = await cli('finetune', model, '-o', join(dir, 'never.onnx'), '--data', counts);
    expect(training.code).toBe(1);
    expect(readdirSync(dir)).not.toContain('never.onnx');
  });

  it('a training command refuses a .npz of several inputs (the trainer feeds one), writing nothing', async () => {
    const file = npz('two.npz', { ids: i64([n, 5], idValues), mask: f32([n, 5, 1], maskValues), y: i64([n], new Array(n).fill(0)) });
    const out = join(dir, 'two-out.onnx');
    const r = await cli('finetune', fx.model, '-o', out, '--data', file, '--epochs', '1');
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_UNSUPPORTED]');
    expect(r.err).toContain("holds 'ids', 'mask': this command trains models with one data input");
    expect(readdirSync(dir)).not.toContain('two-out.onnx');
  });

  it('--val-split is checked like every option', async () => {
    const r = await cli('finetune', fx.model, '-o', join(dir, 'v.onnx'), '--val-split', '1.5');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--val-split must be a fraction in [0, 1)');
  });
});

describe('a folder of images', () => {
  const test = loadFashionMnist({ split: 'test' });
  const count = 200;
  const images = join(dir, 'fm-images');
  beforeAll(() => {
    for (let i = 0; i < count; i++) {
      const cls = join(images, String(test.labels[i]));
      mkdirSync(cls, { recursive: true });
      const data = Buffer.alloc(28 * 28 * 4);
      for (let p = 0; p < 784; p++) {
        const v = test.images[i * 784 + p]!;
        data.set([v, v, v, 255], p * 4);
      }
      writeFileSync(join(cls, `${String(i).padStart(4, '0')}.png`), PNG.sync.write({ width: 28, height: 28, data }));
    }
  });

  it('class folders as labels: the same accuracy as the same Fashion-MNIST images from the IDX files', async () => {
    const folder = await cli('eval', fx.model, '--data', images, ...evalArgs);
    expect(folder.code, folder.err).toBe(0);
    const idx = await cli('eval', fx.model, '--data', 'fashion-mnist:test', '--limit', String(count), ...evalArgs);
    const [a, b] = [JSON.parse(folder.out) as EvalRecord, JSON.parse(idx.out) as EvalRecord];
    expect(a.data.samples).toBe(count);
    expect(a.data.labeled).toBe(true);
    // Grey PNGs read as grey (the model's input is [N, 28, 28]), scaled by 1/255: the same pixels, the same predictions.
    expect(a.accuracy).toBe(b.accuracy);
    expect(a.accuracy).toBeGreaterThan(0.55);
    // --limit decodes only that many, keeping every class (interleaved order).
    const limited = JSON.parse((await cli('eval', fx.model, '--data', images, '--limit', '20', ...evalArgs)).out) as EvalRecord;
    expect(limited.data.samples).toBe(20);
    expect(limited.perClass!.filter((c) => c.support > 0).length).toBe(10);
  });

  it('a corrupt image, an empty folder and a bad preprocessing file are errors naming the file', async () => {
    const bad = join(dir, 'bad-images');
    mkdirSync(bad);
    writeFileSync(join(bad, 'a.png'), PNG.sync.write({ width: 28, height: 28, data: Buffer.alloc(28 * 28 * 4) }));
    writeFileSync(join(bad, 'b.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0, 2]));
    const r = await cli('eval', fx.model, '--data', bad, ...evalArgs);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_CORRUPT]');
    expect(r.err).toContain(`${join(bad, 'b.jpg')}: image cannot be decoded: JPEG`);
    const empty = join(dir, 'no-images');
    mkdirSync(empty);
    const e = await cli('eval', fx.model, '--data', empty, ...evalArgs);
    expect(e.code).toBe(1);
    expect(e.err).toContain(`[E_NOT_FOUND]: ${empty}: folder holds no PNG or JPEG images`);
    const twice = await cli('eval', fx.model, '--data', images, '--mean', '0.5', ...evalArgs);
    expect(twice.code).toBe(2);
    expect(twice.err).toContain('--mean given for an image folder, whose preprocessing comes from its JSON');
    const pre = join(dir, 'pre.json');
    writeFileSync(pre, '{"size": [32, 32]}');
    const p = await cli('eval', fx.model, '--data', images, '--preprocess', pre, ...evalArgs);
    expect(p.code).toBe(1);
    expect(p.err).toContain(`[E_SHAPE]: ${pre}: image preprocessing gives height 32, the model input [batch, 28, 28] (nchw) takes 28`);
  });
});

describe('quantize --calib with a folder of images', () => {
  it('calibrates PP-OCR cls on JPEG text-line crops sized by preprocess.json, the guard on its held-back test part', async () => {
    const crops = join(dir, 'crops');
    mkdirSync(crops);
    // Dark strokes on light paper, a different pattern per image (a stand-in for rendered text lines).
    for (let k = 0; k < 12; k++) {
      const [w, h] = [160 + 8 * k, 40];
      const data = Buffer.alloc(w * h * 4, 235);
      for (let x = 0; x < w; x++)
        for (let y = 10; y < 30; y++) if ((x * (k + 3)) % 17 < 4 || (y + x + k) % 11 === 0) data.set([20, 20, 20, 255], (y * w + x) * 4);
      writeFileSync(join(crops, `line${String(k).padStart(2, '0')}.jpg`), jpeg.encode({ width: w, height: h, data }, 90).data);
    }
    writeFileSync(join(crops, 'preprocess.json'), JSON.stringify({ size: [48, 192], mean: 0.5, std: 0.5 }));
    const out = join(dir, 'cls-int8.onnx');
    const r = await cli(
      'quantize',
      `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`,
      '-o',
      out,
      '--scheme',
      'static',
      '--calib',
      crops,
      '--min-snr',
      '3',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(dir)).toContain('cls-int8.onnx');
    // Calibration on the folder's seeded train part, the guard on its test part (20%: 2 of 12 images), disjoint.
    const rep = JSON.parse(r.out) as { fidelity: { inputs: string; samples: number; snrDb: number }; notes: string[] };
    expect(rep.fidelity.inputs).toBe(`${crops}:test`);
    expect(rep.fidelity.samples).toBe(2);
    expect(rep.fidelity.snrDb).toBeGreaterThan(3);
    expect(rep.notes.join(' ')).toMatch(/calibrated on 1 batch/);
  }, 120_000);
});
