/**
 * Accuracy budgets of the weight schemes on a real Fashion-MNIST classifier
 * (nearest class mean, one Gemm over the 784 pixels, from
 * src/eval/class-mean.ts), on the 10k test images.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { budgetedSchemes, quantizeModel } from '../../src/quantize/index.js';
import { accuracy, mnistSetup, type MnistSetup } from './static-mnist.js';

let setup: MnistSetup;
let before: number;

beforeAll(async () => {
  setup = mnistSetup();
  before = await accuracy(setup.model, setup.test);
});

describe('weight schemes keep a Fashion-MNIST classifier accurate', () => {
  // the Fashion-MNIST budgets of the scheme table's weight-only schemes (static has its own test: it calibrates)
  const budgets = budgetedSchemes('mnist')
    .filter((s) => s.scheme.weightOnly)
    .map((s) => [s.id, s.budget.opts ?? {}, s.budget.maxPointsLost] as const);
  it('covers fp16-weights, int8, int4 and kmeans:5', () => {
    expect(budgets.map((b) => b[0])).toEqual(['fp16-weights', 'int8', 'int4', 'kmeans:5']);
  });
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
