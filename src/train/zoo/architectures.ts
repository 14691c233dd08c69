/**
 * The zoo's networks for 1x28x28 images and 10 classes: LeNet-300-100 and
 * LeNet-5 in the Caffe variants Deep Compression pruned, a small CNN with
 * BatchNormalization and depthwise-separable convolutions, and a plain
 * Conv-BN-ReLU CNN of the size users ship for small image tasks.
 */
import type { ModelProto } from 'onnx-buf';
import { createRng } from '../../core/random.js';
import type { InitScheme } from './init.js';
import { batchNorm, conv, linear, maxPool2, relu, type LayerContext } from './layers.js';
import { ZooGraph, floatValueInfo } from './onnx-proto.js';

export interface ZooBuildOptions {
  /** Seed of the weight initialization; default 0. */
  seed?: number;
  /** Initialization scheme; default 'pytorch' (torch.nn defaults). */
  init?: InitScheme;
}

/** Name of the graph input ([N, 1, 28, 28] float32, pixels scaled to [0, 1]). */
export const ZOO_INPUT = 'input';
/** Name of the graph output ([N, 10] float32 logits). */
export const ZOO_OUTPUT = 'logits';

function start(opts: ZooBuildOptions): LayerContext {
  return { graph: new ZooGraph(), rng: createRng(opts.seed ?? 0), init: opts.init ?? 'pytorch' };
}

function finish(ctx: LayerContext, graphName: string, docString: string): ModelProto {
  return ctx.graph.toModel({
    graphName,
    docString,
    inputs: [floatValueInfo(ZOO_INPUT, ['N', 1, 28, 28])],
    outputs: [floatValueInfo(ZOO_OUTPUT, ['N', 10])],
  });
}

/** 784-300-100-10 with ReLU (LeCun et al. 1998; Deep Compression's LeNet-300-100): 266,610 parameters. */
export function lenet300100(opts: ZooBuildOptions = {}): ModelProto {
  const ctx = start(opts);
  const g = ctx.graph;
  let x = g.node('Flatten', [ZOO_INPUT], ['flatten.out'], { axis: 1 }, 'flatten');
  x = relu(ctx, 'relu1', linear(ctx, 'fc1', x, 784, 300));
  x = relu(ctx, 'relu2', linear(ctx, 'fc2', x, 300, 100));
  linear(ctx, 'fc3', x, 100, 10, ZOO_OUTPUT);
  return finish(ctx, 'lenet-300-100', 'LeNet-300-100: Flatten, Gemm 784-300, Relu, Gemm 300-100, Relu, Gemm 100-10');
}

/**
 * Caffe's LeNet-5 (Deep Compression, Table 2): conv 20 5x5, max-pool 2x2,
 * conv 50 5x5, max-pool 2x2, fc 500, ReLU, fc 10: 431,080 parameters. As in
 * Caffe's lenet_train_test.prototxt, the convolutions have no activation.
 */
export function lenet5(opts: ZooBuildOptions = {}): ModelProto {
  const ctx = start(opts);
  const g = ctx.graph;
  let x = conv(ctx, 'conv1', ZOO_INPUT, { inChannels: 1, outChannels: 20, kernel: 5 }); // 20x24x24
  x = maxPool2(ctx, 'pool1', x); // 20x12x12
  x = conv(ctx, 'conv2', x, { inChannels: 20, outChannels: 50, kernel: 5 }); // 50x8x8
  x = maxPool2(ctx, 'pool2', x); // 50x4x4
  x = g.node('Flatten', [x], ['flatten.out'], { axis: 1 }, 'flatten');
  x = relu(ctx, 'relu1', linear(ctx, 'fc1', x, 800, 500));
  linear(ctx, 'fc2', x, 500, 10, ZOO_OUTPUT);
  return finish(ctx, 'lenet-5', 'LeNet-5 (Caffe variant): Conv 20 5x5, MaxPool, Conv 50 5x5, MaxPool, Gemm 800-500, Relu, Gemm 500-10');
}

/**
 * A small mobile-style CNN: conv 3x3 (16) + BN + ReLU, then two
 * depthwise-separable blocks (depthwise 3x3 stride 2 + BN + ReLU, pointwise
 * 1x1 + BN + ReLU) to 32 and 64 channels, global average pool, fc 10.
 */
export function dwsepBn(opts: ZooBuildOptions = {}): ModelProto {
  const ctx = start(opts);
  const g = ctx.graph;
  const block = (name: string, x: string, spec: Parameters<typeof conv>[3]): string =>
    relu(ctx, `${name}.relu`, batchNorm(ctx, `${name}.bn`, conv(ctx, `${name}.conv`, x, { ...spec, bias: false }), spec.outChannels));
  let x = block('stem', ZOO_INPUT, { inChannels: 1, outChannels: 16, kernel: 3, pad: 1 }); // 16x28x28
  x = block('dw1', x, { inChannels: 16, outChannels: 16, kernel: 3, pad: 1, stride: 2, groups: 16 }); // 16x14x14
  x = block('pw1', x, { inChannels: 16, outChannels: 32, kernel: 1 }); // 32x14x14
  x = block('dw2', x, { inChannels: 32, outChannels: 32, kernel: 3, pad: 1, stride: 2, groups: 32 }); // 32x7x7
  x = block('pw2', x, { inChannels: 32, outChannels: 64, kernel: 1 }); // 64x7x7
  x = g.node('GlobalAveragePool', [x], ['gap.out'], {}, 'gap');
  x = g.node('Flatten', [x], ['flatten.out'], { axis: 1 }, 'flatten');
  linear(ctx, 'fc', x, 64, 10, ZOO_OUTPUT);
  return finish(
    ctx,
    'dwsep-bn',
    'dwsep-bn: Conv+BN+Relu stem, two depthwise-separable blocks with BatchNormalization, GlobalAveragePool, Gemm 64-10',
  );
}

/**
 * A VGG-style BatchNorm CNN: three conv 3x3 (pad 1, no bias) + BN + ReLU
 * blocks with 32, 64 and 128 channels, max-pool 2x2 after the first two,
 * global average pool, fc 128-10: 94,186 parameters. Every conv is
 * channel-prunable (Conv -> BN -> Relu -> MaxPool -> Conv, and GAP -> Gemm).
 */
export function cnnBn(opts: ZooBuildOptions = {}): ModelProto {
  const ctx = start(opts);
  const g = ctx.graph;
  const block = (name: string, x: string, inChannels: number, outChannels: number): string =>
    relu(
      ctx,
      `${name}.relu`,
      batchNorm(ctx, `${name}.bn`, conv(ctx, `${name}.conv`, x, { inChannels, outChannels, kernel: 3, pad: 1, bias: false }), outChannels),
    );
  let x = maxPool2(ctx, 'pool1', block('conv1', ZOO_INPUT, 1, 32)); // 32x14x14
  x = maxPool2(ctx, 'pool2', block('conv2', x, 32, 64)); // 64x7x7
  x = block('conv3', x, 64, 128); // 128x7x7
  x = g.node('GlobalAveragePool', [x], ['gap.out'], {}, 'gap');
  x = g.node('Flatten', [x], ['flatten.out'], { axis: 1 }, 'flatten');
  linear(ctx, 'fc', x, 128, 10, ZOO_OUTPUT);
  return finish(
    ctx,
    'cnn-bn',
    'cnn-bn: 3 x (Conv 3x3 + BN + Relu) with 32/64/128 channels, MaxPool after the first two, GlobalAveragePool, Gemm 128-10',
  );
}
