import { describe, it } from 'vitest';
import { gradCheck } from '../autodiff/gradcheck.js';

describe('Gemm gradient rule (finite differences, float64)', () => {
  for (const transA of [0, 1]) {
    for (const transB of [0, 1]) {
      it(`transA=${transA} transB=${transB} alpha=0.7 beta=1.3, C broadcast [N]`, async () => {
        const [m, k, n] = [3, 4, 5];
        await gradCheck({
          params: { a: { shape: transA ? [k, m] : [m, k] }, b: { shape: transB ? [n, k] : [k, n] }, c: { shape: [n] } },
          forward: (bd) => bd.op('Gemm', ['a', 'b', 'c'], { transA, transB, alpha: { float: 0.7 }, beta: { float: 1.3 } }),
        });
      });
    }
  }
  it('C of shape [M, 1], and [1, 1]; no C', async () => {
    await gradCheck({
      params: { a: { shape: [3, 4] }, b: { shape: [4, 2] }, c: { shape: [3, 1] }, d: { shape: [1, 1] } },
      forward: (bd) =>
        bd.op('Add', [
          bd.op('Gemm', ['a', 'b', 'c']),
          bd.op('Add', [bd.op('Gemm', ['a', 'b', 'd'], { beta: { float: 0.5 } }), bd.op('Gemm', ['a', 'b'])]),
        ]),
    });
  });
});

describe('MatMul gradient rule (finite differences, float64)', () => {
  it('2-D x 2-D', async () => {
    await gradCheck({ params: { a: { shape: [3, 4] }, b: { shape: [4, 2] } }, forward: (bd) => bd.op('MatMul', ['a', 'b']) });
  });
  it('batched 3-D x 2-D (weights shared over the batch)', async () => {
    await gradCheck({ params: { a: { shape: [2, 3, 4] }, b: { shape: [4, 2] } }, forward: (bd) => bd.op('MatMul', ['a', 'b']) });
  });
  it('batched broadcasting [2,1,3,4] x [3,4,5]', async () => {
    await gradCheck({ params: { a: { shape: [2, 1, 3, 4] }, b: { shape: [3, 4, 5] } }, forward: (bd) => bd.op('MatMul', ['a', 'b']) });
  });
  it('same batch [2,3,4] x [2,4,2]', async () => {
    await gradCheck({ params: { a: { shape: [2, 3, 4] }, b: { shape: [2, 4, 2] } }, forward: (bd) => bd.op('MatMul', ['a', 'b']) });
  });
  it('1-D x 2-D, 2-D x 1-D, 1-D x 1-D, 1-D x 3-D', async () => {
    await gradCheck({
      params: { v: { shape: [4] }, m: { shape: [4, 3] }, n: { shape: [3, 4] }, w: { shape: [4] }, t: { shape: [2, 4, 3] } },
      forward: (bd) => {
        const vm = bd.op('MatMul', ['v', 'm']); // [3]
        const nw = bd.op('MatMul', ['n', 'w']); // [3]
        const vw = bd.op('MatMul', ['v', 'w']); // []
        const vt = bd.op('MatMul', ['v', 't']); // [2, 3]
        return bd.op('Add', [bd.op('Mul', [bd.op('Add', [vm, nw]), vw]), vt]);
      },
    });
  });
});
