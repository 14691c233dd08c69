/** Layer helpers shared by the zoo architectures (PyTorch-export naming: `<layer>.weight`, `<layer>.bias`). */
import type { Rng } from '../../core/random.js';
import { initLayer, type InitScheme } from './init.js';
import type { ZooGraph } from './onnx-proto.js';

export interface LayerContext {
  graph: ZooGraph;
  rng: Rng;
  init: InitScheme;
}

/** Gemm with transB=1 (weight [out, in]) as torch.onnx exports nn.Linear. */
export function linear(
  ctx: LayerContext,
  name: string,
  input: string,
  inFeatures: number,
  outFeatures: number,
  output = `${name}.out`,
): string {
  const { weight, bias } = initLayer(ctx.init, inFeatures * outFeatures, inFeatures, outFeatures, ctx.rng);
  const w = ctx.graph.weight(`${name}.weight`, [outFeatures, inFeatures], weight);
  const b = ctx.graph.weight(`${name}.bias`, [outFeatures], bias);
  return ctx.graph.node('Gemm', [input, w, b], [output], { transB: 1 }, name);
}

export interface ConvSpec {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  pad?: number;
  groups?: number;
  /** Whether the conv has a bias (false before BatchNormalization, as in PyTorch models). Default true. */
  bias?: boolean;
}

export function conv(ctx: LayerContext, name: string, input: string, s: ConvSpec): string {
  const groups = s.groups ?? 1;
  const fanIn = (s.inChannels / groups) * s.kernel * s.kernel;
  const count = s.outChannels * fanIn;
  const { weight, bias } = initLayer(ctx.init, count, fanIn, s.outChannels, ctx.rng);
  const inputs = [input, ctx.graph.weight(`${name}.weight`, [s.outChannels, s.inChannels / groups, s.kernel, s.kernel], weight)];
  if (s.bias !== false) inputs.push(ctx.graph.weight(`${name}.bias`, [s.outChannels], bias));
  const pad = s.pad ?? 0;
  const stride = s.stride ?? 1;
  return ctx.graph.node(
    'Conv',
    inputs,
    [`${name}.out`],
    { kernel_shape: [s.kernel, s.kernel], strides: [stride, stride], pads: [pad, pad, pad, pad], group: groups, dilations: [1, 1] },
    name,
  );
}

/** BatchNormalization in inference form (scale 1, bias 0, running mean 0, var 1), momentum 0.9 = PyTorch's 0.1. */
export function batchNorm(ctx: LayerContext, name: string, input: string, channels: number): string {
  const g = ctx.graph;
  const inputs = [
    input,
    g.weight(`${name}.weight`, [channels], new Float32Array(channels).fill(1)),
    g.weight(`${name}.bias`, [channels], new Float32Array(channels)),
    g.weight(`${name}.running_mean`, [channels], new Float32Array(channels)),
    g.weight(`${name}.running_var`, [channels], new Float32Array(channels).fill(1)),
  ];
  return g.node('BatchNormalization', inputs, [`${name}.out`], { epsilon: { f: 1e-5 }, momentum: { f: 0.9 } }, name);
}

export function relu(ctx: LayerContext, name: string, input: string): string {
  return ctx.graph.node('Relu', [input], [`${name}.out`], {}, name);
}

export function maxPool2(ctx: LayerContext, name: string, input: string): string {
  return ctx.graph.node('MaxPool', [input], [`${name}.out`], { kernel_shape: [2, 2], strides: [2, 2] }, name);
}
