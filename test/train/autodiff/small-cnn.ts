/** A small float32 CNN built like a PyTorch export: Conv+BN+Relu, depthwise Conv, MaxPool, GAP, Flatten, Dropout, Gemm(transB=1). */
import type { ModelProto } from 'onnx-buf';
import { GraphBuilder, makeModel } from '../../../src/graph/builder.js';
import { randn, rng } from './gradcheck.js';

export function smallCnn(seed = 1): ModelProto {
  const r = rng(seed);
  const b = new GraphBuilder();
  b.input('input', 'float32', ['batch', 1, 8, 8]);
  const w = (name: string, shape: number[], scale: number): string =>
    b.initializer(
      name,
      'float32',
      shape,
      randn(
        shape.reduce((a, c) => a * c, 1),
        r,
        scale,
      ),
    );
  const c1 = b.op('Conv', ['input', w('conv1.weight', [4, 1, 3, 3], 0.5), w('conv1.bias', [4], 0.1)], { pads: [1, 1, 1, 1] }, 'conv1');
  const bn = b.node(
    'BatchNormalization',
    [
      c1,
      w('bn1.weight', [4], 0.2),
      w('bn1.bias', [4], 0.1),
      b.initializer('bn1.running_mean', 'float32', [4], [0, 0, 0, 0]),
      b.initializer('bn1.running_var', 'float32', [4], [1, 1, 1, 1]),
    ],
    { name: 'bn1', attrs: { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } } },
  )[0]!;
  const a1 = b.op('Relu', [bn]);
  const p1 = b.op('MaxPool', [a1], { kernel_shape: [2, 2], strides: [2, 2] });
  const dw = b.op('Conv', [p1, w('dw.weight', [4, 1, 3, 3], 0.5)], { group: 4, pads: [1, 1, 1, 1] }, 'dw');
  const pw = b.op('Relu', [b.op('Conv', [dw, w('pw.weight', [6, 4, 1, 1], 0.5)], undefined, 'pw')]);
  const gap = b.op('GlobalAveragePool', [pw]);
  const flat = b.op('Flatten', [gap], { axis: 1 });
  const drop = b.op('Dropout', [flat], undefined, 'drop');
  b.node('Gemm', [drop, w('fc.weight', [3, 6], 0.5), w('fc.bias', [3], 0.1)], { outputs: ['logits'], attrs: { transB: 1 }, name: 'fc' });
  b.output('logits', 'float32', ['batch', 3]);
  return makeModel(b.graph, { opset: 17 });
}

/** A deterministic toy batch: class 0 vertical stripes, 1 horizontal stripes, 2 flat (all translation-invariant, so GAP keeps them apart). */
export function toyBatch(n: number, seed: number): { x: Float32Array; y: BigInt64Array } {
  const r = rng(seed);
  const x = new Float32Array(n * 64),
    y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const cls = Math.floor(r() * 3);
    y[i] = BigInt(cls);
    for (let p = 0; p < 64; p++) {
      const row = Math.floor(p / 8),
        col = p % 8;
      const v = cls === 0 ? col % 2 : cls === 1 ? row % 2 : 0.5;
      x[i * 64 + p] = v + (r() - 0.5) * 0.4;
    }
  }
  return { x, y };
}
