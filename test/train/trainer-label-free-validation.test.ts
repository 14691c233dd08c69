/**
 * Without labels, train() ranks epochs by the output SNR of a validation set
 * against its targets (the original model's outputs) and counts the starting
 * weights as epoch 0, so fine-tuning that only lowers the match is undone.
 */
import { describe, expect, it } from 'vitest';
import { makeTensor } from '../../src/core/tensor.js';
import { createRng } from '../../src/core/random.js';
import { floatDataset, type Dataset } from '../../src/data/dataset.js';
import { GraphBuilder, getInitializerValues, makeModel } from '../../src/graph/index.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { teacherFeeds } from '../../src/train/teacher.js';
import { datasetLogits, train } from '../../src/train/trainer.js';
import { snrDb } from '../../src/train/trainer/evaluate.js';

const IN = 8;
const OUT = 4;

function linear(w: Float32Array) {
  const g = new GraphBuilder(undefined, 'test');
  g.input('x', 'float32', ['batch', IN]);
  const wName = g.initializer('fc.weight', 'float32', [OUT, IN], w);
  const b = g.initializer('fc.bias', 'float32', [OUT], new Float32Array(OUT));
  g.node('Gemm', ['x', wName, b], { attrs: { transB: 1 }, outputs: ['y'] });
  g.output('y', 'float32', ['batch', OUT]);
  return makeModel(g.graph, { opset: 17 });
}

function randoms(n: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return new Float32Array(n).map(() => (2 * rng.next() - 1) * scale);
}

function unlabelled(count: number, seed: number): Dataset {
  return floatDataset(randoms(count * IN, seed), [IN], undefined, 'x');
}

/** `data` with `outputs` (count x OUT) as its single target array. */
function withTargets(data: Dataset, outputs: Float32Array): Dataset {
  const count = outputs.length / OUT;
  return { ...data, targets: { '': makeTensor('float32', [count, OUT], new Uint8Array(outputs.buffer)) } };
}

describe('label-free validation in train()', () => {
  it('keeps the starting weights (epoch 0) when training only moves the outputs away from the original', async () => {
    const w = randoms(OUT * IN, 1, 0.5);
    const model = linear(w);
    const trainSet = unlabelled(256, 2);
    const val = unlabelled(64, 3);
    const original = await datasetLogits(createNodeRunner, model, val);
    // Training targets that are not the original's outputs: every step lowers the validation SNR.
    const wrong = { logits: randoms(256 * OUT, 4, 3), classes: OUT, outputShape: [OUT] };
    const r = await train({
      openRunner: createNodeRunner,
      model,
      train: trainSet,
      validation: withTargets(val, original.logits),
      epochs: 3,
      batchSize: 32,
      optimizer: { name: 'adam', lr: 1e-2 },
      loss: { kind: 'mse', target: 'teacher_outputs' },
      batchFeeds: teacherFeeds(wrong, 'teacher_outputs'),
    });
    expect(r.history).toHaveLength(3);
    for (const h of r.history) expect(h.validation!.snrDb).toBeLessThan(60);
    expect(r.bestEpoch).toBe(0);
    expect(getInitializerValues(r.model, ['fc.weight']).get('fc.weight')).toEqual(w);
  });

  it('picks the epoch whose outputs match the original best, and that SNR is what the returned model gives', async () => {
    const teacher = linear(randoms(OUT * IN, 5, 0.5));
    const student = linear(randoms(OUT * IN, 6, 0.5));
    const trainSet = unlabelled(512, 7);
    const val = unlabelled(64, 8);
    const targets = await datasetLogits(createNodeRunner, teacher, trainSet);
    const held = await datasetLogits(createNodeRunner, teacher, val);
    const start = snrDb(held.logits, (await datasetLogits(createNodeRunner, student, val)).logits);
    const r = await train({
      openRunner: createNodeRunner,
      model: student,
      train: trainSet,
      validation: withTargets(val, held.logits),
      epochs: 6,
      batchSize: 32,
      optimizer: { name: 'adam', lr: 3e-2 },
      loss: { kind: 'mse', target: 'teacher_outputs' },
      batchFeeds: teacherFeeds(targets, 'teacher_outputs'),
    });
    const snrs = r.history.map((h) => h.validation!.snrDb!);
    expect(r.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(snrs[r.bestEpoch - 1]).toBe(Math.max(...snrs));
    expect(Math.max(...snrs)).toBeGreaterThan(start + 10);
    const after = await datasetLogits(createNodeRunner, r.model, val);
    expect(snrDb(held.logits, after.logits)).toBeCloseTo(snrs[r.bestEpoch - 1]!, 3);
  });
});
