/**
 * Lowering of composite ops to primitives before differentiation (the rule
 * table stays short): BatchNormalization (training statistics or frozen
 * running statistics), LayerNormalization, InstanceNormalization, and
 * Dropout in train/eval mode.
 */
import type { GraphProto, ModelProto, NodeProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { floatAttr, intAttr } from '../../graph/attributes.js';
import { GraphBuilder, defaultOpset } from '../../graph/builder.js';
import { cloneModel } from '../../graph/model-edit.js';
import { inferShapes, type ShapeInfo } from '../../graph/shape-inference.js';
import { makeValueInfo } from '../../graph/value-info.js';
import { type GraphDType, graphDTypeFromOnnx, makeTensorProto } from '../../graph/tensor-proto.js';
import type { BatchNormStats } from './types.js';

/** Ops replaced by primitives before differentiation. */
export const LOWERED_OPS: ReadonlySet<string> = new Set(['BatchNormalization', 'LayerNormalization', 'InstanceNormalization', 'Dropout']);

export interface LowerOptions {
  batchNorm: 'train' | 'eval';
  dropout: 'train' | 'eval';
  dropoutRatioInput?: string;
  opset: number;
}

/** Lowers composite nodes of `graph` in place; returns the BatchNorm statistics outputs added. */
export function lowerComposites(graph: GraphProto, b: GraphBuilder, shapes: ShapeInfo, opts: LowerOptions): BatchNormStats[] {
  const stats: BatchNormStats[] = [];
  const original = [...graph.node];
  for (const n of original) {
    if (n.opType === 'BatchNormalization' && n.domain === '') {
      const s = lowerBatchNorm(n, b, shapes, opts);
      if (s) stats.push(s);
    } else if (n.opType === 'LayerNormalization' && n.domain === '') lowerLayerNorm(n, b, shapes, opts);
    else if (n.opType === 'InstanceNormalization' && n.domain === '') lowerInstanceNorm(n, b, shapes, opts);
    else if (n.opType === 'Dropout' && n.domain === '') lowerDropout(n, b, shapes, opts);
    else continue;
    graph.node.splice(graph.node.indexOf(n), 1);
  }
  return stats;
}

function where(n: NodeProto): string {
  return `${n.opType} node '${n.name || n.output[0]}'`;
}

function reduceMean(b: GraphBuilder, x: string, axes: number[], opset: number, name: string): string {
  return opset >= 18
    ? b.op('ReduceMean', [x, b.int64s(axes)], { keepdims: 1 }, name)
    : b.op('ReduceMean', [x], { axes, keepdims: 1 }, name);
}

function lowerBatchNorm(n: NodeProto, b: GraphBuilder, shapes: ShapeInfo, opts: LowerOptions): BatchNormStats | undefined {
  const [x, scale, bias, mean, variance] = n.input as [string, string, string, string, string];
  const y = n.output[0]!;
  if (n.output.slice(1).some((o) => o !== ''))
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `${where(n)}: training-mode outputs (running mean/var) are not supported in the input model`,
    );
  const r = shapes.rank(x);
  if (r === undefined || r < 2) throw new ModelpressError('E_GRAPH', `${where(n)}: the rank of input '${x}' is unknown`);
  const dt = graphDTypeFromOnnx(shapes.elemType(x)) ?? 'float32';
  const eps = floatAttr(n, 'epsilon', 1e-5);
  const momentum = floatAttr(n, 'momentum', 0.9);
  const base = n.name || y;
  const chanShape = b.int64s([-1, ...Array(r - 2).fill(1)]);
  const perChannel = (t: string): string => b.op('Reshape', [t, chanShape], undefined, `${base}_chan`);
  const axes = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)];
  const epsC = b.scalar(eps, dt);
  if (opts.batchNorm === 'eval') {
    const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, epsC])])]);
    const mul = b.op('Mul', [scale, invStd], undefined, `${base}_scale`);
    const centered = b.op('Sub', [x, perChannel(mean)], undefined, `${base}_center`);
    const scaled = b.op('Mul', [centered, perChannel(mul)], undefined, `${base}_mul`);
    b.node('Add', [scaled, perChannel(bias)], { outputs: [y], name: `${base}_bias` });
    return undefined;
  }
  const mu = reduceMean(b, x, axes, opts.opset, `${base}_batch_mean`);
  const centered = b.op('Sub', [x, mu], undefined, `${base}_center`);
  const varB = reduceMean(b, b.op('Mul', [centered, centered]), axes, opts.opset, `${base}_batch_var`);
  const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [varB, epsC])])], undefined, `${base}_inv_std`);
  const scaled = b.op('Mul', [b.op('Mul', [centered, invStd]), perChannel(scale)], undefined, `${base}_mul`);
  b.node('Add', [scaled, perChannel(bias)], { outputs: [y], name: `${base}_bias` });
  // Statistics for the running-stats update: batch mean and unbiased batch variance.
  const count = b.op('Cast', [b.op('Div', [b.op('Size', [x]), b.op('Gather', [b.op('Shape', [x]), b.scalar(1, 'int64')])])], {
    to: dt === 'float64' ? 11 : 1,
  });
  const correction = b.op('Div', [count, b.op('Max', [b.op('Sub', [count, b.scalar(1, dt)]), b.scalar(1, dt)])]);
  const batchMean = b.names.fresh(`${base}.batch_mean`);
  const batchVar = b.names.fresh(`${base}.batch_var`);
  b.node('Reshape', [mu, b.int64s([-1])], { outputs: [batchMean] });
  b.node('Reshape', [b.op('Mul', [varB, correction]), b.int64s([-1])], { outputs: [batchVar] });
  return { node: n.name || y, runningMean: mean, runningVar: variance, batchMean, batchVar, momentum };
}

function lowerLayerNorm(n: NodeProto, b: GraphBuilder, shapes: ShapeInfo, opts: LowerOptions): void {
  const [x, scale, bias] = n.input as [string, string, string | undefined];
  if (n.output.slice(1).some((o) => o !== ''))
    throw new ModelpressError('E_UNSUPPORTED', `${where(n)}: Mean/InvStdDev outputs are not supported`);
  const y = n.output[0]!;
  const axis = intAttr(n, 'axis', -1);
  let axes: number[];
  if (axis < 0) axes = Array.from({ length: -axis }, (_, i) => axis + i);
  else {
    const r = shapes.rank(x);
    if (r === undefined) throw new ModelpressError('E_GRAPH', `${where(n)}: the rank of input '${x}' is unknown`);
    axes = Array.from({ length: r - axis }, (_, i) => axis + i);
  }
  const dt = graphDTypeFromOnnx(shapes.elemType(x)) ?? 'float32';
  const base = n.name || y;
  const normed = normalizeOver(n, b, x, axes, dt, base, opts);
  if (bias) {
    const scaled = b.op('Mul', [normed, scale], undefined, `${base}_scale`);
    b.node('Add', [scaled, bias], { outputs: [y], name: `${base}_bias` });
  } else b.node('Mul', [normed, scale], { outputs: [y], name: `${base}_scale` });
}

/** (x - mean) / sqrt(var + epsilon) over `axes`: the normalization LayerNormalization and InstanceNormalization share. */
function normalizeOver(n: NodeProto, b: GraphBuilder, x: string, axes: number[], dt: GraphDType, base: string, opts: LowerOptions): string {
  const mu = reduceMean(b, x, axes, opts.opset, `${base}_mean`);
  const centered = b.op('Sub', [x, mu], undefined, `${base}_center`);
  const v = reduceMean(b, b.op('Mul', [centered, centered]), axes, opts.opset, `${base}_var`);
  const eps = b.scalar(floatAttr(n, 'epsilon', 1e-5), dt);
  return b.op('Div', [centered, b.op('Sqrt', [b.op('Add', [v, eps])])], undefined, `${base}_norm`);
}

function lowerInstanceNorm(n: NodeProto, b: GraphBuilder, shapes: ShapeInfo, opts: LowerOptions): void {
  const [x, scale, bias] = n.input as [string, string, string];
  const y = n.output[0]!;
  const r = shapes.rank(x);
  if (r === undefined || r < 3) throw new ModelpressError('E_GRAPH', `${where(n)}: the rank of input '${x}' is unknown or below 3`);
  const dt = graphDTypeFromOnnx(shapes.elemType(x)) ?? 'float32';
  const base = n.name || y;
  const axes = Array.from({ length: r - 2 }, (_, i) => i + 2);
  const chanShape = b.int64s([-1, ...Array(r - 2).fill(1)]);
  const normed = normalizeOver(n, b, x, axes, dt, base, opts);
  const scaled = b.op('Mul', [normed, b.op('Reshape', [scale, chanShape])], undefined, `${base}_scale`);
  b.node('Add', [scaled, b.op('Reshape', [bias, chanShape])], { outputs: [y], name: `${base}_bias` });
}

function lowerDropout(n: NodeProto, b: GraphBuilder, shapes: ShapeInfo, opts: LowerOptions): void {
  const x = n.input[0]!;
  const [y, mask] = [n.output[0]!, n.output[1] ?? ''];
  const base = n.name || y;
  if (opts.dropout === 'eval') {
    b.node('Identity', [x], { outputs: [y], name: base });
    if (mask)
      b.node('ConstantOfShape', [b.op('Shape', [x])], {
        outputs: [mask],
        attrs: { value: { tensor: makeTensorProto('', 'bool', [1], [1]) } },
      });
    return;
  }
  const dt = graphDTypeFromOnnx(shapes.elemType(x)) ?? 'float32';
  const ratio = opts.dropoutRatioInput ?? (n.input[1] ? n.input[1] : b.scalar(0.5, dt));
  const maskOut = mask || b.names.fresh(`${base}_mask`);
  const attrs = n.attribute.find((a) => a.name === 'seed') ? { seed: intAttr(n, 'seed', 0) } : undefined;
  b.node('Dropout', [x, ratio, b.constant('bool', [], [1])], { outputs: [y, maskOut], name: base, ...(attrs ? { attrs } : {}) });
}

/** A copy of `model` with composites lowered (what buildTrainingGraph differentiates), plus the BatchNorm statistics outputs. */
export function lowerModel(model: ModelProto, opts: Partial<LowerOptions> = {}): { model: ModelProto; batchNorm: BatchNormStats[] } {
  const out = cloneModel(model);
  const graph = out.graph!;
  const b = new GraphBuilder(graph);
  const batchNorm = lowerComposites(graph, b, inferShapes(graph), {
    batchNorm: opts.batchNorm ?? 'train',
    dropout: opts.dropout ?? 'train',
    opset: opts.opset ?? defaultOpset(out),
    ...(opts.dropoutRatioInput ? { dropoutRatioInput: opts.dropoutRatioInput } : {}),
  });
  for (const s of batchNorm) for (const t of [s.batchMean, s.batchVar]) graph.output.push(makeValueInfo(t, 0));
  return { model: out, batchNorm };
}
