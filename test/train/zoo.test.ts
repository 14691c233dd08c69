import { describe, expect, it } from 'vitest';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { ZOO, buildZooModel, zooEntry } from '../../src/train/zoo/index.js';

function trainableCount(model: ModelProto): number {
  let n = 0;
  for (const t of model.graph!.initializer) {
    if (/running_(mean|var)$/.test(t.name)) continue;
    n += t.dims.reduce((a, d) => a * Number(d), 1);
  }
  return n;
}

function floats(model: ModelProto, name: string): Float32Array {
  const t = model.graph!.initializer.find((i) => i.name === name)!;
  return new Float32Array(t.rawData.slice().buffer);
}

describe('model zoo', () => {
  for (const entry of ZOO) {
    it(`${entry.name} runs in onnxruntime: input [N,1,28,28] -> logits [N,10], ${entry.parameters} parameters`, async () => {
      const model = entry.build({ seed: 3 });
      expect(trainableCount(model)).toBe(entry.parameters);
      const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
      expect(session.inputNames).toEqual(['input']);
      expect(session.outputNames).toEqual(['logits']);
      const x = new Float32Array(3 * 784).map((_, i) => ((i * 37) % 255) / 255);
      const out = await session.run({ input: new ort.Tensor('float32', x, [3, 1, 28, 28]) });
      const logits = out.logits!;
      expect(logits.dims).toEqual([3, 10]);
      const data = logits.data as Float32Array;
      expect(data.every(Number.isFinite)).toBe(true);
      expect(Math.max(...data) - Math.min(...data)).toBeGreaterThan(1e-4);
      await session.release();
    });
  }

  it('initializes like PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), seeded', () => {
    const a = buildZooModel('lenet-300-100', { seed: 1 });
    const b = buildZooModel('lenet-300-100', { seed: 1 });
    const c = buildZooModel('lenet-300-100', { seed: 2 });
    const w = floats(a, 'fc1.weight');
    expect(w.length).toBe(300 * 784);
    expect(floats(b, 'fc1.weight')).toEqual(w);
    expect(floats(c, 'fc1.weight')).not.toEqual(w);
    const bound = 1 / Math.sqrt(784);
    let max = 0,
      sq = 0;
    for (const v of w) {
      max = Math.max(max, Math.abs(v));
      sq += v * v;
    }
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(bound * 0.99);
    expect(Math.sqrt(sq / w.length)).toBeCloseTo(bound / Math.sqrt(3), 3); // std of U(-b, b)
    const he = floats(buildZooModel('lenet-5', { seed: 1, init: 'he' }), 'conv2.weight');
    expect(Math.max(...he.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (20 * 25)));
    expect(Math.max(...he.map(Math.abs))).toBeGreaterThan(Math.sqrt(6 / (20 * 25)) * 0.99);
  });

  it('exports like PyTorch: Gemm transB=1 with [out,in] weights, depthwise Conv with group, Conv without bias before BN', () => {
    const lenet = buildZooModel('lenet-300-100');
    const gemm = lenet.graph!.node.find((n) => n.name === 'fc1')!;
    expect(gemm.opType).toBe('Gemm');
    expect(gemm.attribute.find((a) => a.name === 'transB')!.i).toBe(1n);
    expect(lenet.graph!.initializer.find((t) => t.name === 'fc1.weight')!.dims).toEqual([300n, 784n]);
    const dw = buildZooModel('dwsep-bn').graph!.node.find((n) => n.name === 'dw2.conv')!;
    expect(dw.attribute.find((a) => a.name === 'group')!.i).toBe(32n);
    expect(buildZooModel('dwsep-bn').graph!.node.filter((n) => n.opType === 'BatchNormalization').length).toBe(5);
    const cnn = buildZooModel('cnn-bn').graph!;
    expect(cnn.node.map((n) => n.opType).join(' ')).toBe(
      'Conv BatchNormalization Relu MaxPool Conv BatchNormalization Relu MaxPool Conv BatchNormalization Relu GlobalAveragePool Flatten Gemm',
    );
    expect(cnn.node.filter((n) => n.opType === 'Conv').map((n) => n.input.length)).toEqual([2, 2, 2]); // no conv bias before BN
    expect(cnn.initializer.find((t) => t.name === 'conv3.conv.weight')!.dims).toEqual([128n, 64n, 3n, 3n]);
  });

  it('rejects an unknown architecture by name', () => {
    expect(() => zooEntry('resnet-50')).toThrow(/unknown architecture 'resnet-50'.*lenet-300-100/);
  });
});
