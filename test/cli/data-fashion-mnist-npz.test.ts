/**
 * Fashion-MNIST exported as .npz by scripts/export-fashion-mnist.ts reads as
 * the built-in spec does: the same accuracy from eval, the same training run
 * from finetune (official splits, same order, same pixels).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import type { EvalRecord } from '../../src/report/record.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { exportFashionMnist } from '../../scripts/export-fashion-mnist.js';
import { classMeanFixture } from '../eval/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-fm-npz-'));
let testNpz: string;
let bothNpz: string;
beforeAll(() => {
  [testNpz, bothNpz] = exportFashionMnist({ outDir: dir });
});

async function json<T>(...argv: string[]): Promise<T> {
  const r = await cli(...argv, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as T;
}

describe('Fashion-MNIST as .npz against the built-in spec', () => {
  it('eval: the same accuracy, F1 and confusion matrix on the first 1000 test images', async () => {
    const model = classMeanFixture().model;
    const args = ['--limit', '1000', '--no-latency'];
    const builtIn = await json<EvalRecord>('eval', model, '--data', 'fashion-mnist:test', ...args);
    // The class-mean model takes [N, 28, 28]; the export is NCHW [N, 1, 28, 28]: the samples fit by reshaping.
    for (const spec of [testNpz, `${bothNpz}:test`]) {
      const rec = await json<EvalRecord>('eval', model, '--data', spec, ...args);
      expect(rec.data.samples).toBe(1000);
      expect(rec.accuracy).toBe(builtIn.accuracy);
      expect(rec.f1Macro).toBe(builtIn.f1Macro);
      expect(rec.confusionMatrix).toEqual(builtIn.confusionMatrix);
    }
    expect(builtIn.accuracy).toBeGreaterThan(0.6);
  });

  it('finetune: the same losses and test accuracy from the official splits of the combined file', async () => {
    const model = join(dir, 'lenet.onnx');
    writeFileSync(model, writeOnnx(buildZooModel('lenet-300-100', { seed: 1 })));
    const args = ['--epochs', '1', '--limit', '1000', '--val-split', '0.2', '--test-limit', '500', '--seed', '4'];
    type Report = {
      testAccuracy: number;
      trainExamples: number;
      validationExamples: number;
      epochs: { trainLoss: number; validationAccuracy: number }[];
    };
    const a = await json<Report>('finetune', model, '-o', join(dir, 'a.onnx'), '--data', 'fashion-mnist', ...args);
    const b = await json<Report>('finetune', model, '-o', join(dir, 'b.onnx'), '--data', bothNpz, ...args);
    expect(a.trainExamples).toBe(800);
    expect(a.validationExamples).toBe(200);
    expect(b.trainExamples).toBe(a.trainExamples);
    expect(b.epochs[0]!.trainLoss).toBe(a.epochs[0]!.trainLoss);
    expect(b.epochs[0]!.validationAccuracy).toBe(a.epochs[0]!.validationAccuracy);
    expect(b.testAccuracy).toBe(a.testAccuracy);
    // sensitivity of the finetuned model: the same baseline and per-layer drops from either spec.
    const trained = join(dir, 'a.onnx');
    type Sens = { baseline: number; examples: number; layers: unknown[] };
    const sa = await json<Sens>('sensitivity', trained, '--data', 'fashion-mnist', '--test-limit', '300');
    const sb = await json<Sens>('sensitivity', trained, '--data', bothNpz, '--test-limit', '300');
    expect(sb.examples).toBe(300);
    expect(sb.baseline).toBe(sa.baseline);
    expect(sb.layers).toEqual(sa.layers);
    expect(sa.baseline).toBeGreaterThan(0.2); // one epoch on 800 examples; an untrained LeNet scores ~0.05
  }, 120_000);

  it('compare: the same figures for the reference and the model', async () => {
    const model = classMeanFixture();
    const args = ['--limit', '500', '--no-latency'];
    type Cmp = { models: EvalRecord[] };
    const a = await json<Cmp>('compare', model.model, model.perturbed, '--data', 'fashion-mnist:test', ...args);
    const b = await json<Cmp>('compare', model.model, model.perturbed, '--data', testNpz, ...args);
    expect(b.models.map((m) => [m.accuracy, m.fidelity?.top1Agreement, m.fidelity?.snrDb])).toEqual(
      a.models.map((m) => [m.accuracy, m.fidelity?.top1Agreement, m.fidelity?.snrDb]),
    );
  });
});
