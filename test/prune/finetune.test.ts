/**
 * Pruning while fine-tuning on real Fashion-MNIST subsets (short runs; the
 * full accuracy claims are printed by `npx tsx bench/prune.ts`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { limitSamples, type Dataset } from '../../src/data/dataset.js';
import { trainingImages } from '../../src/eval/datasets/dataset.js';
import { getInitializerValues } from '../../src/graph/model-edit.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import { readOnnxFile, writeOnnxFile } from '../../src/node/onnx-external.js';
import { pruneAndFinetune } from '../../src/prune/finetune.js';
import { pruneUnstructured } from '../../src/prune/unstructured.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { evaluateModel, train } from '../../src/train/trainer.js';
import { buildZooModel } from '../../src/train/zoo/index.js';

const openRunner = createNodeRunner;
const dir = mkdtempSync(join(tmpdir(), 'prune-ft-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let trainSet: Dataset;
let testSet: Dataset;
let trained: ModelProto;

beforeAll(async () => {
  trainSet = limitSamples(trainingImages(loadFashionMnist({ split: 'train' }), 'fashion-mnist:train'), 8000);
  testSet = limitSamples(trainingImages(loadFashionMnist({ split: 'test' }), 'fashion-mnist:test'), 2000);
  trained = (await train({ openRunner, model: buildZooModel('lenet-300-100', { seed: 0 }), train: trainSet, epochs: 2, seed: 0 })).model;
}, 300_000);

const NAMES = ['fc1.weight', 'fc2.weight', 'fc3.weight'];

function sparsity(model: ModelProto): number {
  const v = [...getInitializerValues(model, NAMES).values()];
  const total = v.reduce((a, x) => a + x.length, 0);
  return v.reduce((a, x) => a + x.filter((y) => y === 0).length, 0) / total;
}

describe('pruning with fine-tuning (LeNet-300-100, 8k Fashion-MNIST examples)', () => {
  it('one-shot 90%: masks held by the optimizer keep pruned weights exactly zero in the written file, and fine-tuning recovers accuracy', async () => {
    const r = await pruneAndFinetune({
      openRunner,
      model: trained,
      method: { kind: 'magnitude', sparsity: 0.9 },
      train: trainSet,
      epochs: 2,
      seed: 0,
      optimizer: { name: 'adam', lr: 5e-4 },
    });
    const path = join(dir, 'ft.onnx');
    writeOnnxFile(path, r.model);
    const back = readOnnxFile(path).proto;
    const values = getInitializerValues(back, NAMES);
    const oneshot = getInitializerValues(r.initial.model, NAMES);
    let violations = 0;
    let changed = 0;
    for (const name of NAMES) {
      const v = values.get(name)!;
      const mask = r.masks.get(name)!;
      const before = oneshot.get(name)!;
      let zeros = 0;
      for (let i = 0; i < v.length; i++) {
        if (mask[i] === 0 && v[i] !== 0) violations++;
        if (v[i] === 0) zeros++;
        if (mask[i] === 1 && v[i] !== before[i]) changed++;
      }
      expect(Math.abs(zeros - 0.9 * v.length)).toBeLessThanOrEqual(1);
    }
    expect(violations).toBe(0);
    expect(changed).toBeGreaterThan(10000); // the kept weights did train
    const accPruned = (await evaluateModel(openRunner, r.initial.model, testSet)).accuracy;
    const accAfter = (await evaluateModel(openRunner, back, testSet)).accuracy;
    expect(accAfter).toBeGreaterThan(accPruned);
  });

  it('polynomial schedule: the sparsity rises over the steps and ends exactly at the target', async () => {
    const r = await pruneAndFinetune({
      openRunner,
      model: trained,
      method: { kind: 'global', sparsity: 0.8 },
      schedule: 'polynomial',
      maskUpdateEvery: 20,
      train: trainSet,
      epochs: 1,
      seed: 0,
    });
    const s = r.maskUpdates.map((u) => u.sparsity);
    expect(s.length).toBeGreaterThan(3);
    for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThan(s[i - 1]!);
    expect(s[0]).toBe(0);
    expect(s.at(-1)).toBe(0.8);
    expect(Math.abs(sparsity(r.model) - 0.8)).toBeLessThan(2 / 266200);
  });

  it('iterative schedule: k equal increments', async () => {
    const r = await pruneAndFinetune({
      openRunner,
      model: trained,
      method: { kind: 'magnitude', sparsity: 0.6 },
      schedule: 'iterative',
      stages: 3,
      train: trainSet,
      epochs: 1,
      seed: 0,
    });
    expect(r.maskUpdates.map((u) => Number(u.sparsity.toFixed(6)))).toEqual([0.2, 0.4, 0.6]);
    // 125 steps, ramp over the first 75% (93 steps): stages start at steps 0, 31, 62.
    expect(r.maskUpdates.map((u) => u.step)).toEqual([0, 31, 62]);
    expect(Math.abs(sparsity(r.model) - 0.6)).toBeLessThan(0.0001);
  });

  it('a gradual schedule needs a target sparsity (not N:M or quality)', async () => {
    await expect(
      pruneAndFinetune({
        openRunner,
        model: trained,
        method: { kind: 'nm', pattern: { n: 2, m: 4 } },
        schedule: 'polynomial',
        train: trainSet,
        epochs: 1,
      }),
    ).rejects.toThrow(/target sparsity/);
    expect(pruneUnstructured(trained, { kind: 'nm', pattern: { n: 2, m: 4 } }).layers).toHaveLength(3);
  });
});
