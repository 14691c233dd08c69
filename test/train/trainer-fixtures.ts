/**
 * Test models built the way torch.onnx.export writes them (Gemm transB=1,
 * Conv with bias + BatchNormalization + Relu, depthwise Conv,
 * GlobalAveragePool + Flatten, a transformer block with LayerNormalization,
 * MatMul attention, Softmax and Erf GELU), and Fashion-MNIST subsets.
 */
import type { ModelProto } from 'onnx-buf';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import { createRng, type Rng } from '../../src/core/random.js';
import { selectSamples, type Dataset } from '../../src/data/dataset.js';
import { trainingImages } from '../../src/eval/datasets/dataset.js';

function uniform(rng: Rng, n: number, fanIn: number): Float32Array {
  const b = 1 / Math.sqrt(fanIn);
  return new Float32Array(n).map(() => (2 * rng.next() - 1) * b);
}

function start(): GraphBuilder {
  const g = new GraphBuilder(undefined, 'torch_jit');
  g.input('input', 'float32', ['batch_size', 1, 28, 28]);
  return g;
}

function linear(g: GraphBuilder, rng: Rng, name: string, x: string, inF: number, outF: number, output?: string): string {
  const w = g.initializer(`${name}.weight`, 'float32', [outF, inF], uniform(rng, inF * outF, inF));
  const b = g.initializer(`${name}.bias`, 'float32', [outF], uniform(rng, outF, inF));
  return g.node('Gemm', [x, w, b], {
    attrs: { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 },
    name: `/${name}/Gemm`,
    ...(output ? { outputs: [output] } : {}),
  })[0]!;
}

function matmulAdd(g: GraphBuilder, rng: Rng, name: string, x: string, inF: number, outF: number): string {
  // torch exports nn.Linear on 3-D inputs as MatMul with the transposed weight + Add.
  const w = g.initializer(`onnx::MatMul_${name}`, 'float32', [inF, outF], uniform(rng, inF * outF, inF));
  const b = g.initializer(`${name}.bias`, 'float32', [outF], uniform(rng, outF, inF));
  return g.op('Add', [g.op('MatMul', [x, w], undefined, `/${name}/MatMul`), b], undefined, `/${name}/Add`);
}

function convBnRelu(
  g: GraphBuilder,
  rng: Rng,
  name: string,
  x: string,
  cin: number,
  cout: number,
  k: number,
  opts: { stride?: number; groups?: number; pad?: number },
): string {
  const groups = opts.groups ?? 1;
  const fanIn = (cin / groups) * k * k;
  const w = g.initializer(`${name}.conv.weight`, 'float32', [cout, cin / groups, k, k], uniform(rng, cout * fanIn, fanIn));
  const b = g.initializer(`${name}.conv.bias`, 'float32', [cout], uniform(rng, cout, fanIn));
  const pad = opts.pad ?? 0;
  const y = g.op(
    'Conv',
    [x, w, b],
    { group: groups, kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [opts.stride ?? 1, opts.stride ?? 1], dilations: [1, 1] },
    `/${name}/conv/Conv`,
  );
  const bn = g.op(
    'BatchNormalization',
    [
      y,
      g.initializer(`${name}.bn.weight`, 'float32', [cout], new Float32Array(cout).fill(1)),
      g.initializer(`${name}.bn.bias`, 'float32', [cout], new Float32Array(cout)),
      g.initializer(`${name}.bn.running_mean`, 'float32', [cout], new Float32Array(cout)),
      g.initializer(`${name}.bn.running_var`, 'float32', [cout], new Float32Array(cout).fill(1)),
    ],
    { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } },
    `/${name}/bn/BatchNormalization`,
  );
  return g.op('Relu', [bn], undefined, `/${name}/relu/Relu`);
}

/** Conv+BN+Relu, depthwise Conv+BN+Relu, pointwise Conv+BN+Relu, GlobalAveragePool, Flatten, Gemm. */
export function convBnModel(seed = 0): ModelProto {
  const rng = createRng(seed);
  const g = start();
  let x = convBnRelu(g, rng, 'stem', 'input', 1, 8, 3, { pad: 1, stride: 2 }); // 8x14x14
  x = convBnRelu(g, rng, 'dw', x, 8, 8, 3, { pad: 1, groups: 8 }); // depthwise
  x = convBnRelu(g, rng, 'pw', x, 8, 24, 1, {});
  x = g.op('GlobalAveragePool', [x], undefined, '/pool/GlobalAveragePool');
  x = g.op('Flatten', [x], { axis: 1 }, '/Flatten');
  linear(g, rng, 'fc', x, 24, 10, 'logits');
  g.output('logits', 'float32', ['batch_size', 10]);
  return makeModel(g.graph, { producerName: 'pytorch', opset: 17 });
}

/** Rows of the image as 28 tokens of 28 features; one pre-LN transformer block; mean-pool; Gemm head. */
export function transformerModel(seed = 0, d = 32): ModelProto {
  const rng = createRng(seed);
  const g = start();
  let x = g.op('Reshape', ['input', g.int64s([-1, 28, 28])], undefined, '/Reshape');
  x = matmulAdd(g, rng, 'embed', x, 28, d);
  x = g.op('Add', [x, g.initializer('pos_embedding', 'float32', [28, d], uniform(rng, 28 * d, d))], undefined, '/pos/Add');
  const layerNorm = (name: string, h: string): string =>
    g.op(
      'LayerNormalization',
      [
        h,
        g.initializer(`${name}.weight`, 'float32', [d], new Float32Array(d).fill(1)),
        g.initializer(`${name}.bias`, 'float32', [d], new Float32Array(d)),
      ],
      { axis: -1, epsilon: { float: 1e-5 } },
      `/${name}/LayerNormalization`,
    );
  const h = layerNorm('ln1', x);
  const q = matmulAdd(g, rng, 'attn.q', h, d, d);
  const k = matmulAdd(g, rng, 'attn.k', h, d, d);
  const v = matmulAdd(g, rng, 'attn.v', h, d, d);
  let s = g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 2, 1] }, '/attn/Transpose')], undefined, '/attn/MatMul');
  s = g.op('Div', [s, g.scalar(Math.sqrt(d))], undefined, '/attn/Div');
  const a = g.op('Softmax', [s], { axis: -1 }, '/attn/Softmax');
  const o = matmulAdd(g, rng, 'attn.out', g.op('MatMul', [a, v], undefined, '/attn/MatMul_1'), d, d);
  x = g.op('Add', [x, o], undefined, '/Add_1');
  const m = matmulAdd(g, rng, 'mlp.fc1', layerNorm('ln2', x), d, 2 * d);
  // GELU as torch exports it: x * 0.5 * (1 + erf(x / sqrt(2)))
  const erf = g.op('Erf', [g.op('Div', [m, g.scalar(Math.SQRT2)], undefined, '/mlp/act/Div')], undefined, '/mlp/act/Erf');
  const gelu = g.op(
    'Mul',
    [g.op('Mul', [m, g.op('Add', [erf, g.scalar(1)], undefined, '/mlp/act/Add')], undefined, '/mlp/act/Mul'), g.scalar(0.5)],
    undefined,
    '/mlp/act/Mul_1',
  );
  x = g.op('Add', [x, matmulAdd(g, rng, 'mlp.fc2', gelu, 2 * d, d)], undefined, '/Add_2');
  const pooled = g.op('ReduceMean', [x], { axes: [1], keepdims: 0 }, '/ReduceMean');
  linear(g, rng, 'head', pooled, d, 10, 'logits');
  g.output('logits', 'float32', ['batch_size', 10]);
  return makeModel(g.graph, { producerName: 'pytorch', opset: 17 });
}

let cachedTrain: Dataset | undefined;
let cachedTest: Dataset | undefined;

/** Fashion-MNIST train examples [from, from + count) and the first `testCount` test examples. */
export function fashionSubsets(from: number, count: number, testCount: number): { train: Dataset; test: Dataset } {
  if (!cachedTrain) {
    cachedTrain = trainingImages(loadFashionMnist({ split: 'train' }), 'fashion-mnist:train');
    cachedTest = trainingImages(loadFashionMnist({ split: 'test' }), 'fashion-mnist:test');
  }
  const range = (a: number, n: number): Uint32Array => Uint32Array.from({ length: n }, (_, i) => a + i);
  return { train: selectSamples(cachedTrain, range(from, count)), test: selectSamples(cachedTest!, range(0, testCount)) };
}

/** The full splits (60k / 10k). */
export function fashionFull(): { train: Dataset; test: Dataset } {
  fashionSubsets(0, 1, 1);
  return { train: cachedTrain!, test: cachedTest! };
}
