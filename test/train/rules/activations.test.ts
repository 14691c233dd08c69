import { describe, it } from 'vitest';
import { gradCheck, type GradCheckOptions } from '../autodiff/gradcheck.js';

// Values kept away from kinks (0 for Relu, +-3 for HardSwish, clip bounds) so central differences are valid.
const f32: Partial<GradCheckOptions> = { dtype: 'float32', eps: 1e-2, atol: 3e-3, rtol: 1e-2 };
const awayFromKinks = [-1.7, -0.9, -0.4, 0.35, 0.8, 1.3, -2.2, 2.6, -0.6, 0.55, 1.9, -1.2];

describe('activation gradient rules (finite differences)', () => {
  it('Relu', async () => {
    await gradCheck({ params: { x: { shape: [3, 4], values: awayFromKinks } }, forward: (b) => b.op('Relu', ['x']) });
  });
  it('LeakyRelu (alpha 0.1)', async () => {
    await gradCheck({
      params: { x: { shape: [3, 4], values: awayFromKinks } },
      forward: (b) => b.op('LeakyRelu', ['x'], { alpha: { float: 0.1 } }),
    });
  });
  it('Sigmoid', async () => {
    await gradCheck({ params: { x: { shape: [3, 4] } }, forward: (b) => b.op('Sigmoid', ['x']) });
  });
  it('Tanh', async () => {
    await gradCheck({ params: { x: { shape: [3, 4] } }, forward: (b) => b.op('Tanh', ['x']) });
  });
  it('Clip with min and max, and with max only', async () => {
    await gradCheck({
      params: { x: { shape: [3, 4], values: awayFromKinks } },
      forward: (b, dt) => b.op('Add', [b.op('Clip', ['x', b.scalar(-1, dt), b.scalar(1, dt)]), b.op('Clip', ['x', '', b.scalar(0.5, dt)])]),
    });
  });
  it('HardSigmoid (alpha 0.25, beta 0.4)', async () => {
    await gradCheck({
      dtype: 'float32',
      eps: 1e-3,
      atol: 1e-3,
      rtol: 1e-2,
      params: { x: { shape: [3, 4], values: awayFromKinks } },
      forward: (b) => b.op('HardSigmoid', ['x'], { alpha: { float: 0.25 }, beta: { float: 0.4 } }),
    });
  });
  it('HardSwish across all three pieces', async () => {
    await gradCheck({
      dtype: 'float32',
      eps: 1e-3,
      atol: 1e-3,
      rtol: 1e-2,
      params: { x: { shape: [8], values: [-4.2, -3.5, -2.1, -0.7, 0.4, 1.8, 3.6, 5.1] } },
      forward: (b) => b.op('HardSwish', ['x']),
    });
  });
  it('Softmax on axis 1 of a 3-D tensor and on the last axis', async () => {
    await gradCheck({
      params: { x: { shape: [2, 3, 4] } },
      forward: (b) => b.op('Add', [b.op('Softmax', ['x'], { axis: 1 }), b.op('Softmax', ['x'], { axis: -1 })]),
    });
  });
  it('LogSoftmax', async () => {
    await gradCheck({ params: { x: { shape: [3, 5] } }, forward: (b) => b.op('LogSoftmax', ['x'], { axis: -1 }) });
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
});
