import { describe, it } from 'vitest';
import { gradCheck, type GradCheckOptions } from '../autodiff/gradcheck.js';

const f32: Partial<GradCheckOptions> = { dtype: 'float32', eps: 1e-2, atol: 3e-3, rtol: 1e-2 };
const awayFromKinks = [-1.7, -0.9, -0.4, 0.35, 0.8, 1.3, -2.2, 2.6, -0.6, 0.55, 1.9, -1.2];

describe('more gradient rules (finite differences)', () => {
  it('Where with broadcasting (attention-mask style)', async () => {
    await gradCheck({
      params: { a: { shape: [2, 3, 4] }, b: { shape: [4] } },
      forward: (b) => b.op('Where', [b.initializer('cond', 'bool', [3, 4], [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0]), 'a', 'b']),
    });
  });
  it('Max and Min, binary with broadcasting and ternary', async () => {
    await gradCheck({
      params: { a: { shape: [3, 4], values: awayFromKinks }, b: { shape: [4], values: [0.1, -0.5, 1.0, -1.5] }, c: { shape: [1], values: [0.3] } },
      forward: (b) => b.op('Add', [b.op('Max', ['a', 'b']), b.op('Min', ['a', 'b', 'c'])]),
    });
  });
  it('Mean (variadic, float32)', async () => {
    await gradCheck({ ...f32, params: { a: { shape: [2, 3] }, b: { shape: [3] } }, forward: (b) => b.op('Mean', ['a', 'b', 'a']) });
  });
  it('Pad constant mode, constant pads, and pads with axes (opset 18)', async () => {
    await gradCheck({
      opset: 18,
      params: { x: { shape: [2, 3, 4] } },
      forward: (b) =>
        b.op('Mul', [
          b.op('Pad', ['x', b.int64s([0, 1, 2, 0, 2, 1])]),
          b.op('Pad', ['x', b.int64s([1, 2, 2, 1]), '', b.int64s([1, 2])]),
        ]),
    });
  });
  it('Gelu exact and tanh (opset 20, float32)', async () => {
    await gradCheck({
      ...f32,
      opset: 20,
      params: { x: { shape: [3, 4] } },
      forward: (b) => b.op('Add', [b.op('Gelu', ['x']), b.op('Gelu', ['x'], { approximate: 'tanh' })]),
    });
  });
  it('Softplus, Elu (float32)', async () => {
    await gradCheck({
      ...f32,
      params: { x: { shape: [3, 4], values: awayFromKinks } },
      forward: (b) => b.op('Add', [b.op('Softplus', ['x']), b.op('Elu', ['x'], { alpha: { float: 0.7 } })]),
    });
  });
  it('ReduceMax / ReduceMin (axes attribute at opset 17, keepdims 0 and 1)', async () => {
    await gradCheck({
      params: { x: { shape: [3, 4], values: awayFromKinks } },
      forward: (b) => b.op('Add', [b.op('ReduceMax', ['x'], { axes: [1], keepdims: 0 }), b.op('Reshape', [b.op('ReduceMin', ['x'], { axes: [1] }), b.int64s([-1])])]),
    });
  });
  it('InstanceNormalization (lowered)', async () => {
    await gradCheck({
      lower: {},
      params: { x: { shape: [2, 3, 2, 3] }, scale: { shape: [3] }, bias: { shape: [3] } },
      forward: (b) => b.op('InstanceNormalization', ['x', 'scale', 'bias'], { epsilon: { float: 1e-3 } }),
    });
  });
});
