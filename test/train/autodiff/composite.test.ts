import { describe, it } from 'vitest';
import type { GraphBuilder } from '../../../src/graph/builder.js';
import { makeTensorProto } from '../../../src/graph/tensor-proto.js';
import { gradCheck } from './gradcheck.js';

/** A transformer block shaped like a PyTorch export: LayerNorm, Q/K/V MatMul+Add, scaled-dot-product Softmax attention, Erf GELU MLP, residuals. */
function transformerBlock(b: GraphBuilder): string {
  const [T, D, H, DH] = [3, 4, 2, 2];
  const ln1 = b.op('LayerNormalization', ['x', 'ln1.weight', 'ln1.bias'], { axis: -1 });
  const proj = (w: string, bias: string): string => b.op('Add', [b.op('MatMul', [ln1, w]), bias]);
  const heads = (t: string): string => b.op('Transpose', [b.op('Reshape', [t, b.int64s([0, T, H, DH])])], { perm: [0, 2, 1, 3] });
  const q = heads(proj('q.weight', 'q.bias')),
    k = heads(proj('k.weight', 'k.bias')),
    v = heads(proj('v.weight', 'v.bias'));
  const scores = b.op('Div', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), b.scalar(Math.sqrt(DH))]);
  const attn = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]);
  const merged = b.op('Reshape', [b.op('Transpose', [attn], { perm: [0, 2, 1, 3] }), b.int64s([0, T, D])]);
  const h = b.op('Add', ['x', merged]);
  const ln2 = b.op('LayerNormalization', [h, 'ln2.weight', 'ln2.bias'], { axis: -1 });
  const up = b.op('Add', [b.op('MatMul', [ln2, 'fc1.weight']), 'fc1.bias']);
  const gelu = b.op('Mul', [
    b.op('Mul', [up, b.scalar(0.5)]),
    b.op('Add', [b.op('Erf', [b.op('Div', [up, b.scalar(Math.SQRT2)])]), b.scalar(1)]),
  ]);
  return b.op('Add', [h, b.op('Add', [b.op('MatMul', [gelu, 'fc2.weight']), 'fc2.bias'])]);
}

describe('composite graphs (finite differences through buildGradientGraph)', () => {
  it('transformer block: LayerNorm, attention MatMuls, Softmax, Erf GELU, residuals (float32)', async () => {
    const D = 4,
      F = 6;
    await gradCheck({
      dtype: 'float32',
      eps: 1e-2,
      atol: 5e-3,
      rtol: 2e-2,
      samples: 6,
      lower: {},
      params: {
        x: { shape: [2, 3, D] },
        'ln1.weight': { shape: [D] },
        'ln1.bias': { shape: [D] },
        'q.weight': { shape: [D, D] },
        'q.bias': { shape: [D] },
        'k.weight': { shape: [D, D] },
        'k.bias': { shape: [D] },
        'v.weight': { shape: [D, D] },
        'v.bias': { shape: [D] },
        'ln2.weight': { shape: [D] },
        'ln2.bias': { shape: [D] },
        'fc1.weight': { shape: [D, F] },
        'fc1.bias': { shape: [F] },
        'fc2.weight': { shape: [F, D] },
        'fc2.bias': { shape: [D] },
      },
      forward: transformerBlock,
    });
  });
  it('PyTorch-style dynamic reshape (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) with Constant nodes, then MatMul (float64)', async () => {
    await gradCheck({
      params: { x: { shape: [2, 3, 4] }, w: { shape: [12, 2] } },
      forward: (b) => {
        const [minusOne] = b.node('Constant', [], { attrs: { value_ints: [-1] } });
        const [zero] = b.node('Constant', [], { attrs: { value: { tensor: makeTensorProto('', 'int64', [], [0]) } } });
        const n = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', ['x']), zero!], { axis: 0 }), b.int64s([0])]);
        const flat = b.op('Reshape', ['x', b.op('Concat', [n, minusOne!], { axis: 0 })]);
        return b.op('MatMul', [flat, 'w']);
      },
    });
  });
});
