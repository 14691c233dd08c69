import { describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { createWebRunner } from '../../src/runtime/ort-web.js';
import type { RunnerFactory } from '../../src/runtime/runner.js';
import { evaluateModel, train } from '../../src/train/trainer.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { fashionSubsets } from './trainer-fixtures.js';

describe('the trainer on onnxruntime-web (wasm backend, in Node)', () => {
  it('trains LeNet-300-100 with the browser runtime', async () => {
    ortWeb.env.wasm.numThreads = 1;
    const openRunner = createWebRunner;
    const { train: data, test } = fashionSubsets(30000, 1000, 300);
    const model = buildZooModel('lenet-300-100', { seed: 9 });
    const before = await evaluateModel(openRunner, model, test);
    const r = await train({ openRunner, model, train: data, validation: test, epochs: 2, batchSize: 50 });
    expect(r.history[1]!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
    const after = await evaluateModel(openRunner, r.model, test);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.accuracy).toBeGreaterThan(before.accuracy + 0.3);
  });

  it('follows the same trajectory as onnxruntime-node on the BatchNorm CNN', async () => {
    ortWeb.env.wasm.numThreads = 1;
    const { train: data } = fashionSubsets(32000, 320, 1);
    const run = (openRunner: RunnerFactory) =>
      train({
        openRunner,
        model: buildZooModel('dwsep-bn', { seed: 9 }),
        train: data,
        epochs: 1,
        batchSize: 32,
        seed: 2,
        optimizer: { name: 'adam', lr: 5e-3 },
      });
    const web = await run(createWebRunner);
    const node = await run(createNodeRunner);
    expect(web.history[0]!.trainLoss).toBeGreaterThan(0.5);
    expect(Math.abs(web.history[0]!.trainLoss - node.history[0]!.trainLoss)).toBeLessThan(1e-3);
    const wv = web.weights.get('pw2.bn.running_var')!;
    const nv = node.weights.get('pw2.bn.running_var')!;
    expect(nv.some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    for (let i = 0; i < nv.length; i++) expect(wv[i]).toBeCloseTo(nv[i]!, 2);
  });
});
