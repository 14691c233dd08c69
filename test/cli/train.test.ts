import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { transformerModel } from '../train/trainer-fixtures.js';
import { makeTensor } from '../../src/core/tensor.js';
import { encodeNpy } from '../../src/eval/datasets/npy.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import { storedNpz as npz } from '../eval/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpress-train-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('modelpress train / finetune', () => {
  it('train --json trains a zoo model, reports per-epoch figures and writes a model onnxruntime runs', async () => {
    const out = join(dir, 'lenet.onnx');
    const r = await cli(
      'train',
      '--arch',
      'lenet-300-100',
      '--epochs',
      '2',
      '--limit',
      '3000',
      '--val-size',
      '500',
      '--seed',
      '3',
      '--lr-schedule',
      'cosine',
      '-o',
      out,
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({
      command: 'train',
      arch: 'lenet-300-100',
      seed: 3,
      optimizer: 'adam',
      trainExamples: 2500,
      validationExamples: 500,
      output: out,
    });
    expect(report.epochs).toHaveLength(2);
    expect(report.epochs[1].trainLoss).toBeLessThan(report.epochs[0].trainLoss);
    expect(report.epochs[0].validationAccuracy).toBeGreaterThan(0.5);
    expect(report.testAccuracy).toBeGreaterThan(0.7);
    expect(report.secondsPerEpoch).toBeGreaterThan(0);
    const session = await ort.InferenceSession.create(readFileSync(out));
    const logits = (await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) })).logits!;
    expect(logits.dims).toEqual([2, 10]);
    await session.release();
  });

  it('finetune continues a model made elsewhere: accuracy holds or rises', async () => {
    const src = join(dir, 'transformer.onnx');
    writeFileSync(src, toBinary(ModelProtoSchema, transformerModel(5)));
    const stage1 = join(dir, 'stage1.onnx');
    const a = await cli(
      'finetune',
      src,
      '--epochs',
      '1',
      '--limit',
      '3000',
      '--val-size',
      '0',
      '--lr',
      '0.002',
      '--batch-size',
      '32',
      '-o',
      stage1,
      '--json',
    );
    expect(a.code).toBe(0);
    const first = JSON.parse(a.out);
    expect(first.testAccuracy).toBeGreaterThan(first.testAccuracyBefore);
    const stage2 = join(dir, 'stage2.onnx');
    const b = await cli(
      'finetune',
      stage1,
      '--epochs',
      '1',
      '--limit',
      '3000',
      '--val-size',
      '0',
      '--batch-size',
      '32',
      '--seed',
      '1',
      '-o',
      stage2,
      '--json',
    );
    expect(b.code).toBe(0);
    const second = JSON.parse(b.out);
    expect(second.command).toBe('finetune');
    expect(second.schema).toBe('modelpress.finetune/1');
    expect(second.testAccuracyBefore).toBeCloseTo(first.testAccuracy, 6);
    expect(second.testAccuracy).toBeGreaterThanOrEqual(second.testAccuracyBefore - 0.005);
    expect(second.testLoss).toBeLessThan(second.testLossBefore);
  });

  it('trains on a .npz file (x uint8 images, y labels), split 80/20 by seed', async () => {
    const fm = loadFashionMnist({ split: 'train' });
    const n = 2000;
    const x = makeTensor('uint8', [n, 28, 28], fm.images.slice(0, n * 784));
    const y = makeTensor('int32', [n], new Uint8Array(Int32Array.from(fm.labels.subarray(0, n)).buffer));
    const file = join(dir, 'subset.npz');
    writeFileSync(file, npz({ x: encodeNpy(x), y: encodeNpy(y) }));
    const r = await cli(
      'train',
      '--arch',
      'lenet-300-100',
      '--data',
      file,
      '--epochs',
      '2',
      '--val-size',
      '200',
      '-o',
      join(dir, 'npz.onnx'),
      '--json',
    );
    expect(r.err).toBe('');
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ data: file, trainExamples: 1400, validationExamples: 200 });
    expect(report.testAccuracy).toBeGreaterThan(0.6);
    const unlabeled = join(dir, 'nolabels.npz');
    writeFileSync(unlabeled, npz({ x: encodeNpy(x) }));
    const bad = await cli('train', '--arch', 'lenet-300-100', '--data', unlabeled, '--epochs', '1', '-o', join(dir, 'never.onnx'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no labels/);
    expect(existsSync(join(dir, 'never.onnx'))).toBe(false);
  });

  it('errors name the problem and write nothing', async () => {
    // a model taking 3x32x32 images cannot take Fashion-MNIST
    const g = new GraphBuilder();
    g.input('image', 'float32', ['N', 3, 32, 32]);
    const flat = g.op('Flatten', ['image'], { axis: 1 });
    g.node(
      'Gemm',
      [flat, g.initializer('w', 'float32', [10, 3072], new Float32Array(30720)), g.initializer('b', 'float32', [10], new Float32Array(10))],
      { attrs: { transB: 1 }, outputs: ['logits'] },
    );
    g.output('logits', 'float32', ['N', 10]);
    const wrong = join(dir, 'cifar-shaped.onnx');
    writeFileSync(wrong, toBinary(ModelProtoSchema, makeModel(g.graph)));
    const before = readdirSync(dir).length;
    const r = await cli('finetune', wrong, '--epochs', '1', '--limit', '100', '--val-size', '0', '-o', join(dir, 'never.onnx'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_SHAPE.*cifar-shaped\.onnx.*examples have shape \[1, 28, 28\].*input 'image' takes \[N, 3, 32, 32\]/);
    expect(existsSync(join(dir, 'never.onnx'))).toBe(false);
    expect(readdirSync(dir).length).toBe(before);

    const arch = await cli('train', '--arch', 'vgg', '--epochs', '1', '-o', join(dir, 'never.onnx'));
    expect(arch.code).toBe(2);
    expect(arch.err).toMatch(/vgg/);
    const schedule = await cli(
      'train',
      '--arch',
      'lenet-5',
      '--epochs',
      '1',
      '--limit',
      '100',
      '--val-size',
      '0',
      '--lr-schedule',
      'exp',
      '-o',
      join(dir, 'never.onnx'),
    );
    expect(schedule.code).toBe(2);
    expect(schedule.err).toMatch(/unknown schedule 'exp'/);
    const missing = await cli('train', '--arch', 'lenet-5', '--data-dir', join(dir, 'nope'), '-o', join(dir, 'never.onnx'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/E_NOT_FOUND.*Fashion-MNIST train split not found/);
    expect(existsSync(join(dir, 'never.onnx'))).toBe(false);
  });
});

describe('modelpress train --arch byte-lm', () => {
  it('trains the byte-level LM on a .txt: the loss drops and the model runs in onnxruntime with [N, T, 256] logits', async () => {
    const text = join(dir, 'text.txt');
    const line = 'In the beginning God created the heaven and the earth. And the earth was without form, and void. ';
    writeFileSync(text, line.repeat(60));
    const out = join(dir, 'lm.onnx');
    const r = await cli(
      'train',
      '--arch',
      'byte-lm',
      '--data',
      text,
      '--steps',
      '40',
      '--context',
      '16',
      '--d-model',
      '16',
      '--layers',
      '1',
      '--heads',
      '2',
      '--batch-size',
      '8',
      '--lr',
      '0.01',
      '-o',
      out,
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.arch).toBe('byte-lm');
    expect(j.steps).toBe(40);
    // The held-out windows are the text's contiguous last 10% (the .txt spec's split, not train's 0.2 default).
    const windows = Math.floor((line.length * 60) / 16);
    expect(j.heldOutWindows).toBe(Math.round(windows * 0.1));
    expect(j.trainWindows).toBe(windows - j.heldOutWindows);
    expect(j.firstLossBitsPerByte).toBeGreaterThan(7.5);
    expect(j.heldOutBitsPerByte).toBeLessThan(j.firstLossBitsPerByte - 3);
    const s = await ort.InferenceSession.create(readFileSync(out));
    const ids = new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: 2 * 16 }, (_, i) => BigInt(line.charCodeAt(i))),
      [2, 16],
    );
    const logits = (await s.run({ input_ids: ids })).logits!;
    expect(logits.dims).toEqual([2, 16, 256]);
  });

  it('flags of the other kind of model and non-text data are errors; nothing is written', async () => {
    const out = join(dir, 'never.onnx');
    const a = await cli('train', '--arch', 'byte-lm', '--data', 'fashion-mnist', '--steps', '1', '-o', out);
    expect(a.code).not.toBe(0);
    expect(a.err).toMatch(/\.txt file/);
    const b = await cli('train', '--arch', 'byte-lm', '--data', join(dir, 'text.txt'), '--patience', '2', '-o', out);
    expect(b.err).toMatch(/--patience does not apply to --arch byte-lm/);
    const c = await cli('train', '--arch', 'lenet-5', '--d-model', '8', '-o', out);
    expect(c.err).toMatch(/--d-model only applies to --arch byte-lm/);
    expect(existsSync(out)).toBe(false);
  });
});
