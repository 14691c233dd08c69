import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, makeModel } from '../../../src/graph/builder.js';
import { buildTrainingGraph } from '../../../src/train/autodiff/training.js';
import { randn, rng } from './gradcheck.js';

describe('weight sharing: W = Gather(centroids, idx) gives centroid gradients (Deep Compression 3.3)', () => {
  it('the centroid gradient is the sum of the weight gradients of its cluster', async () => {
    const [out, inp, k] = [3, 4, 4];
    const r = rng(21);
    const centroids = [-0.6, -0.1, 0.2, 0.7];
    const idx = Array.from({ length: out * inp }, () => Math.floor(r() * k));
    const weights = idx.map((i) => centroids[i]!);
    const x = Float32Array.from(randn(5 * inp, r));
    const labels = BigInt64Array.from([0n, 1n, 2n, 1n, 0n]);

    // Shared model: the weight is gathered from the centroids.
    const shared = new GraphBuilder();
    shared.input('x', 'float32', ['N', inp]);
    shared.initializer('centroids', 'float32', [k], centroids);
    const ids = shared.initializer('cluster_index', 'int64', [out, inp], idx);
    const w = shared.op('Gather', ['centroids', ids]);
    shared.node('Gemm', ['x', w], { outputs: ['logits'], attrs: { transB: 1 } });
    shared.output('logits', 'float32', ['N', out]);
    const tgShared = buildTrainingGraph(makeModel(shared.graph), { loss: { kind: 'cross-entropy' } });
    expect(tgShared.params.map((p) => p.name)).toEqual(['centroids']);

    // Dense model with the same effective weights.
    const dense = new GraphBuilder();
    dense.input('x', 'float32', ['N', inp]);
    dense.initializer('w', 'float32', [out, inp], weights);
    dense.node('Gemm', ['x', 'w'], { outputs: ['logits'], attrs: { transB: 1 } });
    dense.output('logits', 'float32', ['N', out]);
    const tgDense = buildTrainingGraph(makeModel(dense.graph), { loss: { kind: 'cross-entropy' } });

    const run = async (tg: typeof tgShared, param: Float32Array) => {
      const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, tg.model));
      const res = await s.run({
        x: new ort.Tensor('float32', x, [5, inp]),
        labels: new ort.Tensor('int64', labels, [5]),
        [tg.params[0]!.name]: new ort.Tensor('float32', param, tg.params[0]!.shape),
      });
      return { loss: Number(res[tg.lossOutput]!.data[0]), grad: res[tg.params[0]!.grad]!.data as Float32Array };
    };
    const a = await run(tgShared, Float32Array.from(centroids));
    const b = await run(tgDense, Float32Array.from(weights));
    expect(a.loss).toBeCloseTo(b.loss, 6);
    for (let c = 0; c < k; c++) {
      let sum = 0;
      idx.forEach((i, j) => (sum += i === c ? b.grad[j]! : 0));
      expect(a.grad[c]).toBeCloseTo(sum, 5);
    }
    expect(Array.from(a.grad).some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });
});
