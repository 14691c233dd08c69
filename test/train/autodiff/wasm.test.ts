import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { buildTrainingGraph } from '../../../src/train/autodiff/training.js';
import { smallCnn, toyBatch } from './small-cnn.js';

describe('the training graph on onnxruntime-web (wasm backend, in Node)', () => {
  it('one training step gives the same loss and gradients as onnxruntime-node', async () => {
    ortWeb.env.wasm.numThreads = 1;
    const tg = buildTrainingGraph(smallCnn(3), { loss: { kind: 'cross-entropy' }, dropout: 'eval' });
    const bytes = toBinary(ModelProtoSchema, tg.model);
    const { x, y } = toyBatch(8, 4);
    const feedsFor = <
      T extends {
        new (type: 'float32', data: Float32Array, dims: number[]): unknown;
        new (type: 'int64', data: BigInt64Array, dims: number[]): unknown;
      },
    >(
      Tensor: T,
    ) => {
      const f: Record<string, unknown> = { input: new Tensor('float32', x, [8, 1, 8, 8]), labels: new Tensor('int64', y, [8]) };
      for (const p of tg.params) f[p.name] = new Tensor('float32', p.initial, p.shape);
      return f;
    };
    const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const node = await ortNode.InferenceSession.create(bytes);
    const rw = await web.run(feedsFor(ortWeb.Tensor) as Record<string, ortWeb.Tensor>);
    const rn = await node.run(feedsFor(ortNode.Tensor) as Record<string, ortNode.Tensor>);
    const lw = Number(rw[tg.lossOutput]!.data[0]),
      ln = Number(rn[tg.lossOutput]!.data[0]);
    expect(lw).toBeGreaterThan(0.5);
    expect(Math.abs(lw - ln)).toBeLessThan(1e-5);
    for (const p of tg.params) {
      const gw = rw[p.grad]!.data as Float32Array,
        gn = rn[p.grad]!.data as Float32Array;
      expect(gw.length).toBe(gn.length);
      let scale = 0,
        diff = 0;
      for (let i = 0; i < gn.length; i++) {
        scale = Math.max(scale, Math.abs(gn[i]!));
        diff = Math.max(diff, Math.abs(gw[i]! - gn[i]!));
      }
      expect(scale).toBeGreaterThan(0);
      expect(diff).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    }
    await web.release();
    await node.release();
  });
});
