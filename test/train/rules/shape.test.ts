import { describe, it } from 'vitest';
import type { GraphBuilder } from '../../../src/graph/builder.js';
import { gradCheck } from '../autodiff/gradcheck.js';

/** Flattens and concatenates several outputs so one projection covers them all. */
function flatCat(b: GraphBuilder, ts: string[]): string {
  return b.op(
    'Concat',
    ts.map((t) => b.op('Reshape', [t, b.int64s([-1])])),
    { axis: 0 },
  );
}

describe('data-movement gradient rules (finite differences, float64)', () => {
  it('Reshape (with 0 and -1), Flatten', async () => {
    await gradCheck({
      params: { x: { shape: [2, 3, 4] }, w: { shape: [12, 2] } },
      forward: (b) =>
        b.op('Add', [
          b.op('MatMul', [b.op('Reshape', ['x', b.int64s([0, -1])]), 'w']),
          b.op('MatMul', [b.op('Flatten', ['x'], { axis: 1 }), 'w']),
        ]),
    });
  });
  it('Transpose with perm and default perm', async () => {
    await gradCheck({
      params: { x: { shape: [2, 3, 4] }, y: { shape: [4, 3, 2] } },
      forward: (b) =>
        b.op('Add', [b.op('Transpose', ['x'], { perm: [2, 0, 1] }), b.op('Transpose', [b.op('Transpose', ['y'])], { perm: [2, 0, 1] })]),
    });
  });
  it('Squeeze / Unsqueeze', async () => {
    await gradCheck({
      params: { x: { shape: [2, 1, 3] } },
      forward: (b) => b.op('Unsqueeze', [b.op('Squeeze', ['x', b.int64s([1])]), b.int64s([0, 3])]),
    });
  });
  it('Concat on axis 1 and -1 with a repeated input', async () => {
    await gradCheck({
      params: { a: { shape: [2, 3] }, b: { shape: [2, 2] } },
      forward: (b) =>
        b.op('Concat', [b.op('Concat', ['a', 'b', 'a'], { axis: 1 }), b.op('Concat', ['b', 'a', 'a'], { axis: -1 })], { axis: 0 }),
    });
  });
  it('Split with sizes, one output unused', async () => {
    await gradCheck({
      params: { x: { shape: [3, 7] } },
      forward: (b) => {
        const [p, , r] = b.node('Split', ['x', b.int64s([2, 3, 2])], { outputs: 3, attrs: { axis: 1 } });
        return b.op('Mul', [p!, r!]);
      },
    });
  });
  it('Slice with negative steps, axes and clamped ends', async () => {
    await gradCheck({
      params: { x: { shape: [4, 6] } },
      forward: (b) =>
        b.op(
          'Concat',
          [
            b.op('Reshape', [
              b.op('Slice', ['x', b.int64s([1, -1]), b.int64s([3, -100]), b.int64s([0, 1]), b.int64s([1, -2])]),
              b.int64s([-1]),
            ]),
            b.op('Reshape', [b.op('Slice', ['x', b.int64s([2]), b.int64s([1000]), b.int64s([-1])]), b.int64s([-1])]),
          ],
          { axis: 0 },
        ),
    });
  });
  it('Gather on axis 0 with repeated and negative indices (centroid gradients sum)', async () => {
    await gradCheck({
      params: { centroids: { shape: [4] } },
      forward: (b) => b.op('Gather', ['centroids', b.initializer('idx', 'int64', [2, 3], [0, 3, 3, 1, -1, 0])]),
    });
  });
  it('Gather on axis 1 of a matrix', async () => {
    await gradCheck({
      params: { x: { shape: [3, 4] } },
      forward: (b) => b.op('Gather', ['x', b.initializer('idx', 'int64', [3], [2, 0, 2])], { axis: 1 }),
    });
  });
  it('GatherElements', async () => {
    await gradCheck({
      params: { x: { shape: [3, 4] } },
      forward: (b) => b.op('GatherElements', ['x', b.initializer('idx', 'int64', [3, 2], [1, 1, 0, 3, 2, 2])], { axis: 1 }),
    });
  });
  it('Expand', async () => {
    await gradCheck({ params: { x: { shape: [3, 1] } }, forward: (b) => b.op('Expand', ['x', b.int64s([2, 3, 4])]) });
  });
  it('Identity and Cast float64 -> float32 -> float64', async () => {
    await gradCheck({
      atol: 1e-5,
      rtol: 1e-4,
      eps: 1e-3,
      params: { x: { shape: [2, 3] } },
      forward: (b) => b.op('Cast', [b.op('Mul', [b.op('Cast', [b.op('Identity', ['x'])], { to: 1 }), b.scalar(2, 'float32')])], { to: 11 }),
    });
  });
});

describe('reduction gradient rules (finite differences, float64)', () => {
  it('ReduceSum keepdims 0/1, axes input, all axes', async () => {
    await gradCheck({
      params: { x: { shape: [2, 3, 4] } },
      forward: (b) =>
        flatCat(b, [
          b.op('ReduceSum', ['x', b.int64s([1])], { keepdims: 0 }),
          b.op('ReduceSum', ['x', b.int64s([0, -1])], { keepdims: 1 }),
          b.op('Mul', [b.op('ReduceSum', ['x'], { keepdims: 0 }), b.op('ReduceSum', ['x', b.int64s([2])], { keepdims: 0 })]),
        ]),
    });
  });
  it('ReduceMean (opset 17 attribute axes, keepdims 0 and 1)', async () => {
    await gradCheck({
      params: { x: { shape: [2, 3, 4] } },
      forward: (b) =>
        flatCat(b, [b.op('ReduceMean', ['x'], { axes: [1], keepdims: 0 }), b.op('ReduceMean', ['x'], { axes: [0, 2], keepdims: 1 })]),
    });
  });
  it('ReduceMean at opset 18 (axes as input) and all axes', async () => {
    await gradCheck({
      opset: 18,
      params: { x: { shape: [2, 3, 4] } },
      forward: (b) => b.op('Mul', [b.op('ReduceMean', ['x', b.int64s([-1])], { keepdims: 0 }), b.op('ReduceMean', ['x'], { keepdims: 0 })]),
    });
  });
  it('Pad constant mode, constant pads, and pads with axes (opset 18)', async () => {
    await gradCheck({
      opset: 18,
      params: { x: { shape: [2, 3, 4] } },
      forward: (b) =>
        b.op('Mul', [b.op('Pad', ['x', b.int64s([0, 1, 2, 0, 2, 1])]), b.op('Pad', ['x', b.int64s([1, 2, 2, 1]), '', b.int64s([1, 2])])]),
    });
  });
  it('ReduceMax / ReduceMin (axes attribute at opset 17, keepdims 0 and 1)', async () => {
    await gradCheck({
      params: { x: { shape: [3, 4], values: [-1.7, -0.9, -0.4, 0.35, 0.8, 1.3, -2.2, 2.6, -0.6, 0.55, 1.9, -1.2] } },
      forward: (b) =>
        b.op('Add', [
          b.op('ReduceMax', ['x'], { axes: [1], keepdims: 0 }),
          b.op('Reshape', [b.op('ReduceMin', ['x'], { axes: [1] }), b.int64s([-1])]),
        ]),
    });
  });
});
