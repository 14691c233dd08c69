import { describe, it } from 'vitest';
import { gradCheck, type GradCheckOptions } from '../autodiff/gradcheck.js';

// onnxruntime's CPU Conv/ConvTranspose have float32 kernels only: checks run in float32
// with eps 1e-2 on a quadratic-free (bilinear) op, so central differences are exact up to rounding.
const f32: Partial<GradCheckOptions> = { dtype: 'float32', eps: 1e-2, atol: 3e-3, rtol: 3e-3 };

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  bias?: boolean;
  attrs: Record<string, number | number[] | string>;
}

const cases: ConvCase[] = [
  { name: 'plain 3x3 with bias', x: [2, 3, 5, 5], w: [4, 3, 3, 3], bias: true, attrs: {} },
  { name: 'stride 2, pads 1 (output_padding needed)', x: [1, 2, 6, 6], w: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  {
    name: 'asymmetric pads, stride 2x3, non-square kernel',
    x: [1, 2, 7, 8],
    w: [2, 2, 2, 3],
    bias: true,
    attrs: { strides: [2, 3], pads: [0, 1, 2, 1] },
  },
  { name: 'dilation 2', x: [2, 2, 7, 7], w: [3, 2, 3, 3], attrs: { dilations: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'groups 2', x: [2, 4, 5, 5], w: [6, 2, 3, 3], bias: true, attrs: { group: 2, pads: [1, 1, 1, 1] } },
  {
    name: 'depthwise (group = channels), stride 2',
    x: [2, 3, 6, 6],
    w: [3, 1, 3, 3],
    bias: true,
    attrs: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  { name: 'depthwise multiplier 2 with dilation', x: [1, 2, 7, 7], w: [4, 1, 3, 3], attrs: { group: 2, dilations: [2, 2] } },
  { name: 'auto_pad SAME_UPPER stride 2', x: [1, 2, 5, 5], w: [2, 2, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: '1-D conv, stride 2', x: [2, 2, 9], w: [3, 2, 3], bias: true, attrs: { strides: [2], pads: [1, 0] } },
  { name: '1x1 pointwise', x: [2, 4, 3, 3], w: [5, 4, 1, 1], attrs: {} },
];

describe('Conv gradient rule (finite differences, float32)', () => {
  for (const cs of cases) {
    it(cs.name, async () => {
      await gradCheck({
        ...f32,
        params: { x: { shape: cs.x }, w: { shape: cs.w }, ...(cs.bias ? { bias: { shape: [cs.w[0]!] } } : {}) },
        forward: (b) => b.op('Conv', cs.bias ? ['x', 'w', 'bias'] : ['x', 'w'], cs.attrs),
      });
    });
  }
});

describe('ConvTranspose gradient rule (finite differences, float32)', () => {
  it('stride 2, pads 1, output_padding 1, bias', async () => {
    await gradCheck({
      ...f32,
      params: { x: { shape: [2, 3, 4, 4] }, w: { shape: [3, 2, 3, 3] }, bias: { shape: [2] } },
      forward: (b) => b.op('ConvTranspose', ['x', 'w', 'bias'], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }),
    });
  });
  it('groups 2 with dilation', async () => {
    await gradCheck({
      ...f32,
      params: { x: { shape: [1, 4, 4, 4] }, w: { shape: [4, 3, 2, 2] } },
      forward: (b) => b.op('ConvTranspose', ['x', 'w'], { group: 2, dilations: [2, 2] }),
    });
  });
});
