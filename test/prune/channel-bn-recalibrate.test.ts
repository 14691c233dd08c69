/** BatchNormalization statistics recomputed after a channel cut (cnn-bn, checked in onnxruntime). */
import { describe, expect, it } from 'vitest';
import { TensorProto_DataType, type ModelProto } from 'onnx-buf';
import { cloneModel, getInitializerValues, setInitializerValues } from '../../src/graph/model-edit.js';
import { makeValueInfo } from '../../src/graph/value-info.js';
import { recalibrateBatchNorm } from '../../src/prune/channel-bn-recalibrate.js';
import { pruneChannels } from '../../src/prune/channel-surgery.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { floatDataset } from '../../src/data/dataset.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { randomValues, runModel } from './helpers.js';

const openRunner = createNodeRunner;
const BNS = ['conv1.bn', 'conv2.bn', 'conv3.bn'];

/** cnn-bn with non-trivial gamma/beta and deliberately wrong running statistics. */
function cnnWithStaleStats(): ModelProto {
  const m = buildZooModel('cnn-bn', { seed: 5 });
  const values = new Map<string, Float32Array>();
  let seed = 20;
  for (const bn of BNS) {
    const n = getInitializerValues(m, [`${bn}.weight`]).get(`${bn}.weight`)!.length;
    values.set(`${bn}.weight`, randomValues(n, seed++, 0.5, 1.5));
    values.set(`${bn}.bias`, randomValues(n, seed++, -0.5, 0.5));
    values.set(`${bn}.running_mean`, randomValues(n, seed++, 2, 3));
    values.set(`${bn}.running_var`, randomValues(n, seed++, 5, 9));
  }
  setInitializerValues(m, values);
  return m;
}

/** The BatchNormalization's output on `x`, per channel: mean and (biased) standard deviation over N, H, W. */
async function bnOutputMoments(model: ModelProto, bn: string, x: Float32Array, n: number): Promise<{ mean: number[]; std: number[] }> {
  const probe = cloneModel(model);
  probe.graph!.output = [makeValueInfo(`${bn}.out`, TensorProto_DataType.FLOAT)];
  const y = await runModel(probe, x, [n, 1, 28, 28]);
  const channels = getInitializerValues(model, [`${bn}.weight`]).get(`${bn}.weight`)!.length;
  const inner = y.length / (n * channels);
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    let s = 0,
      sq = 0;
    for (let i = 0; i < n; i++)
      for (let k = 0; k < inner; k++) {
        const v = y[(i * channels + c) * inner + k]!;
        s += v;
        sq += v * v;
      }
    const m = s / (n * inner);
    mean.push(m);
    std.push(Math.sqrt(sq / (n * inner) - m * m));
  }
  return { mean, std };
}

describe('recalibrateBatchNorm', () => {
  it('after a cut, every BatchNormalization output has mean beta and std |gamma| on the calibration data', async () => {
    const cut = pruneChannels(cnnWithStaleStats(), { fraction: 0.5, norm: 'bn' }).model;
    const n = 96;
    const x = randomValues(n * 784, 7);
    const data = floatDataset(x, [1, 28, 28], new Int32Array(n), 'random');
    const r = await recalibrateBatchNorm(openRunner, cut, data, { batchSize: 40 }); // 40 + 40 + 16: moments accumulate across batches
    expect(r.layers).toEqual(BNS);
    for (const bn of BNS) {
      const p = getInitializerValues(r.model, [`${bn}.weight`, `${bn}.bias`, `${bn}.running_var`]);
      const gamma = p.get(`${bn}.weight`)!;
      const beta = p.get(`${bn}.bias`)!;
      const variance = p.get(`${bn}.running_var`)!;
      const got = await bnOutputMoments(r.model, bn, x, n);
      gamma.forEach((g, c) => {
        expect(got.mean[c]!).toBeCloseTo(beta[c]!, 3);
        // BN divides by sqrt(var + eps), eps = 1e-5.
        expect(got.std[c]!).toBeCloseTo(Math.abs(g) * Math.sqrt(variance[c]! / (variance[c]! + 1e-5)), 3);
      });
      // The stale statistics did not have that property.
      const stale = await bnOutputMoments(cut, bn, x, n);
      expect(Math.max(...stale.mean.map((m, c) => Math.abs(m - beta[c]!)))).toBeGreaterThan(0.1);
    }
    // The input model is left untouched.
    expect(getInitializerValues(cut, ['conv1.bn.running_mean']).get('conv1.bn.running_mean')![0]).toBeGreaterThanOrEqual(2);
  });

  it('rejects data with no examples', async () => {
    const data = floatDataset(new Float32Array(0), [1, 28, 28], new Int32Array(0), 'empty');
    await expect(recalibrateBatchNorm(openRunner, buildZooModel('cnn-bn'), data)).rejects.toThrow(/at least one example/);
  });
});
