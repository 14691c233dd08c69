/**
 * Accuracy budgets of the weight schemes on a real Fashion-MNIST classifier
 * (nearest class mean, one Gemm over the 784 pixels, from
 * src/eval/class-mean.ts), on the 10k test images.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizeModel } from '../../src/quantize/index.js';
import { accuracy, mnistSetup, type MnistSetup } from './static-mnist.js';

let setup: MnistSetup;
let before: number;

beforeAll(async () => {
  setup = mnistSetup();
  before = await accuracy(setup.model, setup.test);
});

describe('weight schemes keep a Fashion-MNIST classifier accurate', () => {
  const budgets: [string, object, number][] = [
    ['fp16-weights', {}, 0.1],
    ['int8', { perChannel: true, symmetric: true }, 0.5],
    ['int4', { blockSize: 32 }, 2],
    ['kmeans:5', {}, 2],
  ];
  for (const [scheme, opts, budget] of budgets) {
    it(`${scheme} loses at most ${budget} points`, async () => {
      const r = await quantizeModel(setup.model, scheme, opts);
      expect(r.tensors.some((t) => t.action !== 'skipped')).toBe(true);
      const after = await accuracy(r.model, setup.test);
      console.log(`${scheme}: ${before.toFixed(2)}% -> ${after.toFixed(2)}%`);
      expect(before).toBeGreaterThan(60);
      expect(before - after).toBeLessThanOrEqual(budget);
    });
  }
});
