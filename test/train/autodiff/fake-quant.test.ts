import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../../src/core/errors.js';
import { GraphBuilder, makeModel } from '../../../src/graph/builder.js';
import { insertFakeQuant, quantGrid } from '../../../src/train/autodiff/fake-quant.js';
import { buildGradientGraph } from '../../../src/train/autodiff/gradient.js';
import { randn, rng } from './gradcheck.js';

describe('fake quantization with a straight-through estimator', () => {
  it('per-channel int4 on a weight: forward is the quantize-dequantize grid, gradient is g inside the clip range and 0 outside', async () => {
    const w = [0.03, -0.47, 0.91, -1.13, 0.26, 0.64, -0.06, 1.52, -2.9, 0.33, 0.11, -0.77];
    const proj = randn(12, rng(2));
    const b = new GraphBuilder();
    b.initializer('w', 'float32', [2, 6], w);
    const r = b.initializer('proj', 'float32', [2, 6], proj);
    const loss = b.op('ReduceSum', [b.op('Mul', ['w', r])], { keepdims: 0 });
    b.output(loss, 'float32', []);
    const scales = [0.1, 0.25];
    const { model, inserted } = insertFakeQuant(makeModel(b.graph), [{ tensor: 'w', bits: 4, signed: true, axis: 0, scale: scales }]);
    expect(inserted[0]!.tensor).toBe('w');
    model.graph!.output.push({ ...model.graph!.output[0]!, name: inserted[0]!.output, type: undefined } as never);
    const { model: train, gradients } = buildGradientGraph(model, { loss, wrt: ['w'] });
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, train));
    const res = await s.run({ w: new ort.Tensor('float32', Float32Array.from(w), [2, 6]) });
    const fq = res[inserted[0]!.output]!.data as Float32Array;
    const g = res[gradients.get('w')!]!.data as Float32Array;
    const [qmin, qmax] = quantGrid(4, true);
    expect([qmin, qmax]).toEqual([-8, 7]);
    for (let i = 0; i < 12; i++) {
      const sc = scales[Math.floor(i / 6)]!;
      const q = Math.round(w[i]! / sc);
      const inside = q >= qmin && q <= qmax;
      expect(fq[i]).toBeCloseTo(Math.min(qmax, Math.max(qmin, q)) * sc, 6);
      expect(g[i]).toBeCloseTo(inside ? proj[i]! : 0, 6);
    }
    expect(Array.from(g).filter((v) => v === 0).length).toBeGreaterThanOrEqual(2); // -1.13 and 1.52 / -2.9 clip
  });

  it('scale and zero point as graph inputs (activation ranges fed by the trainer), uint8', async () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', ['N', 4]);
    b.initializer('w', 'float32', [4, 2], randn(8, rng(5)));
    const h = b.op('MatMul', ['x', 'w']);
    b.node('Relu', [h], { outputs: ['act'] });
    const loss = b.op('ReduceSum', [b.op('Mul', ['act', 'act'])], { keepdims: 0 });
    b.output(loss, 'float32', []);
    const { model } = insertFakeQuant(makeModel(b.graph), [
      { tensor: 'act', bits: 8, signed: false, scaleInput: 'act_scale', zeroPointInput: 'act_zp' },
    ]);
    const { model: train, gradients } = buildGradientGraph(model, { loss, wrt: ['w'] });
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, train));
    const r = await s.run({
      x: new ort.Tensor('float32', Float32Array.from(randn(12, rng(6))), [3, 4]),
      w: new ort.Tensor('float32', Float32Array.from(randn(8, rng(5))), [4, 2]),
      act_scale: new ort.Tensor('float32', Float32Array.from([0.01]), [1]),
      act_zp: new ort.Tensor('float32', Float32Array.from([0]), [1]),
    });
    expect(Number(r[loss]!.data[0])).toBeGreaterThan(0);
    expect((r[gradients.get('w')!]!.data as Float32Array).some((v) => v !== 0)).toBe(true);
  });

  it('QuantizeLinear -> DequantizeLinear pairs in a QDQ model (per-channel int8 and per-tensor uint8): straight-through', async () => {
    const w = [0.03, -0.47, 0.91, -1.13, 0.26, 0.64, -0.06, 1.52, -2.9, 0.33, 0.11, -0.77];
    const proj = randn(12, rng(3));
    const b = new GraphBuilder();
    b.initializer('w', 'float32', [2, 6], w);
    const scale = b.initializer('w_scale', 'float32', [2], [0.005, 0.02]);
    const zp = b.initializer('w_zp', 'int8', [2], [0, 3]);
    const q = b.op('QuantizeLinear', ['w', scale, zp], { axis: 0 });
    const dq = b.op('DequantizeLinear', [q, scale, zp], { axis: 0 });
    const s2 = b.scalar(0.01);
    const zp2 = b.constant('uint8', [], [128]);
    const dq2 = b.op('DequantizeLinear', [b.op('QuantizeLinear', ['w', s2, zp2]), s2, zp2]);
    const r = b.initializer('proj', 'float32', [2, 6], proj);
    const loss = b.op('ReduceSum', [b.op('Mul', [b.op('Add', [dq, dq2]), r])], { keepdims: 0 });
    b.output(loss, 'float32', []);
    const { model, gradients } = buildGradientGraph(makeModel(b.graph, { opset: 17 }), { loss, wrt: ['w'] });
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
    const g = (await s.run({ w: new ort.Tensor('float32', Float32Array.from(w), [2, 6]) }))[gradients.get('w')!]!.data as Float32Array;
    for (let i = 0; i < 12; i++) {
      const row = Math.floor(i / 6);
      const l1 = Math.round(w[i]! / [0.005, 0.02][row]!) + [0, 3][row]!;
      const l2 = Math.round(w[i]! / 0.01) + 128;
      const want = proj[i]! * ((l1 >= -128 && l1 <= 127 ? 1 : 0) + (l2 >= 0 && l2 <= 255 ? 1 : 0));
      expect(g[i]).toBeCloseTo(want, 5);
    }
    expect(Array.from(g).some((v, i) => Math.abs(v - 2 * proj[i]!) > 1e-6)).toBe(true); // some values saturate
  });

  it('rejects bad specs', () => {
    const b = new GraphBuilder();
    b.initializer('w', 'float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    b.output(b.op('Relu', ['w']), 'float32');
    const m = makeModel(b.graph);
    expect(() => insertFakeQuant(m, [{ tensor: 'w', bits: 8, signed: true, axis: 0, scale: [0.1] }])).toThrow(ModelpressError);
    expect(() => insertFakeQuant(m, [{ tensor: 'w', bits: 1, signed: true, scale: [0.1] }])).toThrow(/bits/);
    expect(() => insertFakeQuant(m, [{ tensor: 'nope', bits: 8, signed: true, scale: [0.1] }])).toThrow(/not found/);
  });
});
