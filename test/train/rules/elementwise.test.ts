import { describe, expect, it } from 'vitest';
import { gradCheck, type GradCheckOptions } from '../autodiff/gradcheck.js';

const f32: Partial<GradCheckOptions> = { dtype: 'float32', eps: 1e-2, atol: 3e-3, rtol: 1e-2 };
const awayFromKinks = [-1.7, -0.9, -0.4, 0.35, 0.8, 1.3, -2.2, 2.6, -0.6, 0.55, 1.9, -1.2];

describe('elementwise gradient rules (finite differences, float64)', () => {
  it('Add with broadcasting both ways', async () => {
    const r = await gradCheck({ params: { a: { shape: [2, 3, 4] }, b: { shape: [3, 1] } }, forward: (b) => b.op('Add', ['a', 'b']) });
    expect(r.checked).toBeGreaterThan(10);
  });
  it('Sub with rank-0 and leading broadcast', async () => {
    await gradCheck({ params: { a: { shape: [] }, b: { shape: [2, 1, 4] } }, forward: (b) => b.op('Sub', ['a', 'b']) });
  });
  it('Mul with broadcasting', async () => {
    await gradCheck({ params: { a: { shape: [2, 1, 4] }, b: { shape: [3, 1] } }, forward: (b) => b.op('Mul', ['a', 'b']) });
  });
  it('Div', async () => {
    await gradCheck({
      params: { a: { shape: [2, 3] }, b: { shape: [3], values: [1.5, -2, 0.7] } },
      forward: (b) => b.op('Div', ['a', 'b']),
    });
  });
  it('Neg, Sqrt, Exp, Log, Reciprocal, Abs chain', async () => {
    await gradCheck({
      params: { a: { shape: [5], values: [0.3, 1.2, 2.5, 0.9, 1.7] } },
      forward: (b) =>
        b.op('Add', [b.op('Abs', [b.op('Reciprocal', [b.op('Neg', [b.op('Sqrt', ['a'])])])]), b.op('Log', [b.op('Exp', ['a'])])]),
    });
  });
  it('Erf (float32: no double kernel in onnxruntime)', async () => {
    await gradCheck({
      dtype: 'float32',
      eps: 1e-2,
      atol: 2e-3,
      rtol: 1e-2,
      params: { a: { shape: [2, 4] } },
      forward: (b) => b.op('Erf', [b.op('Mul', ['a', b.scalar(1.5)])]),
    });
  });
  it('Pow with both base and exponent trainable', async () => {
    await gradCheck({
      params: { a: { shape: [2, 3], values: [0.5, 1.2, 2, 0.8, 1.1, 1.9] }, e: { shape: [3], values: [2, 1.5, 3] } },
      forward: (b) => b.op('Pow', ['a', 'e']),
    });
  });
  it('Sum of three with broadcasting, and a tensor used twice', async () => {
    await gradCheck({
      params: { a: { shape: [2, 3] }, b: { shape: [3] }, c: { shape: [1, 1] } },
      forward: (b) => b.op('Mul', [b.op('Sum', ['a', 'b', 'c']), 'a']),
    });
  });
  it('Where with broadcasting (attention-mask style)', async () => {
    await gradCheck({
      params: { a: { shape: [2, 3, 4] }, b: { shape: [4] } },
      forward: (b) => b.op('Where', [b.initializer('cond', 'bool', [3, 4], [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0]), 'a', 'b']),
    });
  });
  it('Max and Min, binary with broadcasting and ternary', async () => {
    await gradCheck({
      params: {
        a: { shape: [3, 4], values: awayFromKinks },
        b: { shape: [4], values: [0.1, -0.5, 1.0, -1.5] },
        c: { shape: [1], values: [0.3] },
      },
      forward: (b) => b.op('Add', [b.op('Max', ['a', 'b']), b.op('Min', ['a', 'b', 'c'])]),
    });
  });
  it('Mean (variadic, float32)', async () => {
    await gradCheck({ ...f32, params: { a: { shape: [2, 3] }, b: { shape: [3] } }, forward: (b) => b.op('Mean', ['a', 'b', 'a']) });
  });
});
