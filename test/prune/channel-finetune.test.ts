/** Gradual channel pruning while fine-tuning (dwsep-bn on a small Fashion-MNIST subset). */
import { describe, expect, it } from 'vitest';
import { floatView, limitSamples } from '../../src/data/dataset.js';
import { trainingImages } from '../../src/eval/datasets/dataset.js';
import { findAttr } from '../../src/graph/index.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import { pruneChannelsWhileFinetuning } from '../../src/prune/channel-finetune.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { maxAbs, maxAbsDiff, runModel } from './helpers.js';

const openRunner = createNodeRunner;

describe('pruneChannelsWhileFinetuning', () => {
  it('polynomial: the removed fraction rises, masks hold the channels at zero, and the cut model computes what the masked one does', async () => {
    const data = limitSamples(trainingImages(loadFashionMnist({ split: 'train' }), 'fashion-mnist:train'), 1280);
    const r = await pruneChannelsWhileFinetuning({
      openRunner,
      model: buildZooModel('dwsep-bn', { seed: 0 }),
      fraction: 0.5,
      schedule: 'polynomial',
      maskUpdateEvery: 5,
      train: data,
      epochs: 2,
      seed: 0,
    });
    const f = r.updates.map((u) => u.fraction);
    expect(f[0]).toBe(0);
    expect(f.at(-1)).toBe(0.5);
    for (let i = 1; i < f.length; i++) expect(f[i]!).toBeGreaterThan(f[i - 1]!);
    expect(r.layers.map((l) => l.channelsAfter)).toEqual([8, 16, 32]);
    expect(Number(findAttr(r.model.graph!.node.find((n) => n.name === 'dw2.conv')!, 'group')!.i)).toBe(16);
    // The masked model's removed filters are exactly zero...
    const pw2 = r.masked.graph!.initializer.find((t) => t.name === 'pw2.conv.weight')!;
    const w = new Float32Array(pw2.rawData.slice().buffer);
    for (const c of r.removal.get('pw2.conv')!) expect(w.subarray(c * 32, (c + 1) * 32).every((v) => v === 0)).toBe(true);
    // ...and cutting them changes nothing.
    const x = floatView(data).inputs.subarray(0, 4 * 784);
    const masked = await runModel(r.masked, x, [4, 1, 28, 28]);
    const cut = await runModel(r.model, x, [4, 1, 28, 28]);
    expect(maxAbsDiff(masked, cut)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(masked)));
  });
});
