import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../../src/core/errors.js';
import { GraphBuilder, makeModel } from '../../../src/graph/builder.js';
import { makeTensorProto } from '../../../src/graph/tensor-proto.js';
import { buildGradientGraph } from '../../../src/train/autodiff/gradient.js';
import { createRuleRegistry } from '../../../src/train/autodiff/registry.js';
import type { GradientRule } from '../../../src/train/autodiff/context.js';
import { gradCheck, randn, rng } from './gradcheck.js';

function simpleModel(middleOp: string) {
  const b = new GraphBuilder();
  b.input('x', 'float32', ['N', 3]);
  b.graph.initializer.push(makeTensorProto('w', 'float32', [3, 2], randn(6, rng(1))));
  const h = b.op('MatMul', ['x', 'w'], undefined, 'fc');
  const a = b.node(middleOp, [h], { name: 'mystery_node', outputs: 1 })[0]!;
  const loss = b.op('ReduceSum', [a], { keepdims: 0 });
  b.output(loss, 'float32', []);
  return { model: makeModel(b.graph), loss };
}

describe('buildGradientGraph', () => {
  it('an op without a rule on the gradient path is E_GRAPH naming the op and the node', () => {
    const { model, loss } = simpleModel('Softsign');
    let err: unknown;
    try {
      buildGradientGraph(model, { loss, wrt: ['w'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelpressError);
    expect((err as ModelpressError).code).toBe('E_GRAPH');
    expect((err as ModelpressError).message).toMatch(/no gradient rule for op Softsign \(node 'mystery_node'\)/);
    expect((err as ModelpressError).message).toMatch(/trainable tensor\(s\) w/);
  });

  it('an op without a rule off the gradient path is fine (dead branch pruned)', async () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', ['N', 3]);
    b.graph.initializer.push(makeTensorProto('w', 'float32', [3, 2], randn(6, rng(1))));
    const h = b.op('MatMul', ['x', 'w']);
    b.op('Softsign', ['x']); // not on a path from w
    const side = b.op('Softsign', [h]); // on a path from w, but not to the loss
    b.output(side, 'float32');
    const loss = b.op('ReduceSum', [b.op('Mul', [h, h])], { keepdims: 0 });
    b.output(loss, 'float32', []);
    const { model, gradients } = buildGradientGraph(makeModel(b.graph), { loss, wrt: ['w'] });
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
    const x = Float32Array.from([1, 2, 3, -1, 0, 2]);
    const w = Float32Array.from(randn(6, rng(1)));
    const r = await s.run({ x: new ort.Tensor('float32', x, [2, 3]), w: new ort.Tensor('float32', w, [3, 2]) });
    // d/dw sum((xw)^2) = 2 x^T (x w)
    const g = r[gradients.get('w')!]!.data as Float32Array;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 2; j++) {
        let want = 0;
        for (let n = 0; n < 2; n++) {
          let h = 0;
          for (let k = 0; k < 3; k++) h += x[n * 3 + k]! * w[k * 2 + j]!;
          want += 2 * x[n * 3 + i]! * h;
        }
        expect(g[i * 2 + j]).toBeCloseTo(want, 4);
      }
  });

  it('a trainable tensor that does not reach the loss gets a zero gradient', async () => {
    const b = new GraphBuilder();
    b.graph.initializer.push(makeTensorProto('w', 'float32', [2], [1, 2]), makeTensorProto('unused', 'float32', [3], [1, 2, 3]));
    const loss = b.op('ReduceSum', [b.op('Mul', ['w', 'w'])], { keepdims: 0 });
    b.output(loss, 'float32', []);
    const { model, gradients } = buildGradientGraph(makeModel(b.graph), { loss, wrt: ['w', 'unused'] });
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
    const r = await s.run({
      w: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]),
      unused: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]),
    });
    expect(Array.from(r[gradients.get('w')!]!.data as Float32Array)).toEqual([2, 4]);
    expect(Array.from(r[gradients.get('unused')!]!.data as Float32Array)).toEqual([0, 0, 0]);
  });

  it('the checker catches a wrong rule (a Relu rule that forgets the mask)', async () => {
    const wrongRelu: GradientRule = (c) => [c.gradOut(0)!];
    const registry = createRuleRegistry({ Relu: wrongRelu });
    const { model, gradients } = (() => {
      const b = new GraphBuilder();
      b.graph.initializer.push(makeTensorProto('x', 'float32', [4], [-1, 2, -3, 4]));
      const loss = b.op('ReduceSum', [b.op('Relu', ['x'])], { keepdims: 0 });
      b.output(loss, 'float32', []);
      return buildGradientGraph(makeModel(b.graph), { loss, wrt: ['x'] }, registry);
    })();
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 2, -3, 4]), [4]) });
    // The true gradient is [0, 1, 0, 1]; the wrong rule yields ones, which the gradient check rejects.
    expect(Array.from(r[gradients.get('x')!]!.data as Float32Array)).toEqual([1, 1, 1, 1]);
    const relu = { params: { x: { shape: [4], values: [-1, 2, -3, 4] } }, forward: (b: GraphBuilder) => b.op('Relu', ['x']) };
    await expect(gradCheck({ ...relu, registry })).rejects.toThrow(/gradient check failed/);
    await expect(gradCheck(relu)).resolves.toBeDefined();
  });
});

describe('symbolic batch dims (run-time Shape ops)', () => {
  const batch = 3;
  const feeds = (shape: number[], seed: number): Record<string, ort.Tensor> => ({
    x: new ort.Tensor(
      'float64',
      Float64Array.from(
        randn(
          shape.reduce((a, b) => a * b, 1),
          rng(seed),
        ),
      ),
      shape,
    ),
  });
  it('Add/Mul broadcasting a bias over a symbolic batch', async () => {
    await gradCheck({
      params: { bias: { shape: [1, 4] }, s: { shape: [4] } },
      feeds: feeds([batch, 2, 4], 5),
      forward: (b) => {
        b.input('x', 'float64', ['N', 'T', 4]);
        return b.op('Mul', [b.op('Add', ['x', 'bias']), 's']);
      },
    });
  });
  it('MatMul [N, T, 4] x [4, 2] with symbolic N, T', async () => {
    await gradCheck({
      params: { w: { shape: [4, 2] } },
      feeds: feeds([batch, 2, 4], 6),
      forward: (b) => {
        b.input('x', 'float64', ['N', 'T', 4]);
        return b.op('MatMul', ['x', 'w']);
      },
    });
  });
  it('Conv (strided) and padded AveragePool with symbolic spatial dims (dynamic pad/slice path)', async () => {
    const shape = [2, 2, 7, 7];
    await gradCheck({
      dtype: 'float32',
      eps: 1e-2,
      atol: 3e-3,
      rtol: 3e-3,
      params: { w: { shape: [3, 2, 3, 3] }, v: { shape: [3, 3, 3, 3] } },
      feeds: { x: new ort.Tensor('float32', Float32Array.from(randn(196, rng(7))), shape) },
      forward: (b) => {
        b.input('x', 'float32', ['N', 2, 'H', 'W']);
        const c1 = b.op('Conv', ['x', 'w'], { strides: [2, 2], pads: [1, 1, 1, 1] });
        const c2 = b.op('Conv', [c1, 'v'], { pads: [1, 1, 1, 1] });
        return b.op('AveragePool', [c2], { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1] });
      },
    });
  });
});
