/**
 * Finding the weights a quantizer may touch: every float tensor defined by an
 * initializer or a Constant node, in any graph (subgraphs of If/Loop/Scan
 * included), with every node that consumes it (consumers in nested
 * subgraphs that read it from an outer scope included). A weight shared by
 * several nodes appears once, with all its consumers.
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import type { DType } from '../core/dtypes.js';
import { dtypeFromOnnx } from '../core/dtypes.js';
import { isConstantNode } from '../formats/onnx/list.js';
import { nodeLabel, subgraphsOf } from '../formats/onnx/walk.js';

export interface Consumer {
  readonly node: NodeProto;
  /** Label of the node (its name, or op_type_index). */
  readonly label: string;
  /** Path of the graph the consumer sits in. */
  readonly path: string;
  /** The graph the consumer sits in. */
  readonly graph: GraphProto;
  readonly inputIndex: number;
}

export interface WeightDef {
  readonly name: string;
  /** Path of the graph that defines it ('' = main graph). */
  readonly path: string;
  readonly graph: GraphProto;
  readonly kind: 'initializer' | 'constant';
  /** The TensorProto holding the value (the Constant's `value` attribute for constants). */
  readonly tensor: TensorProto;
  /** The Constant node, for kind 'constant'. */
  readonly node?: NodeProto;
  readonly dtype: DType | undefined;
  readonly shape: readonly number[];
  readonly consumers: Consumer[];
  /** True when a graph output names this tensor directly. */
  graphOutput: boolean;
}

/** All tensor-valued weights of the model with their consumers, in definition order. */
export function findWeights(model: ModelProto): WeightDef[] {
  const all: WeightDef[] = [];
  const visit = (graph: GraphProto, path: string, outer: ReadonlyMap<string, WeightDef>): void => {
    const scope = new Map(outer);
    const define = (def: WeightDef) => {
      scope.set(def.name, def);
      all.push(def);
    };
    for (const tp of graph.initializer) {
      define({
        name: tp.name,
        path,
        graph,
        kind: 'initializer',
        tensor: tp,
        dtype: dtypeFromOnnx(tp.dataType),
        shape: tp.dims.map(Number),
        consumers: [],
        graphOutput: false,
      });
    }
    graph.node.forEach((node) => {
      if (!isConstantNode(node) || !node.output[0]) return;
      const attr = node.attribute.find((a) => a.name === 'value');
      if (!attr?.t) return; // value_float(s)/value_int(s) are tiny scalars: never worth quantizing
      define({
        name: node.output[0],
        path,
        graph,
        kind: 'constant',
        tensor: attr.t,
        node,
        dtype: dtypeFromOnnx(attr.t.dataType),
        shape: attr.t.dims.map(Number),
        consumers: [],
        graphOutput: false,
      });
    });
    graph.node.forEach((node, i) => {
      const label = nodeLabel(node, i);
      node.input.forEach((name, inputIndex) => {
        const def = name ? scope.get(name) : undefined;
        if (def) def.consumers.push({ node, label, path, graph, inputIndex });
      });
      for (const sub of subgraphsOf(node, i, path)) visit(sub.graph, sub.path, scope);
    });
    for (const out of graph.output) {
      const def = scope.get(out.name);
      if (def) def.graphOutput = true;
    }
  };
  if (model.graph) visit(model.graph, '', new Map());
  return all;
}

/** Every name used anywhere in the model (nodes, tensors, values), for fresh-name generation. */
export function allNames(model: ModelProto): Set<string> {
  const names = new Set<string>();
  const visit = (graph: GraphProto, path: string) => {
    for (const t of graph.initializer) names.add(t.name);
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) names.add(v.name);
    graph.node.forEach((n, i) => {
      if (n.name) names.add(n.name);
      for (const t of [...n.input, ...n.output]) if (t) names.add(t);
      for (const sub of subgraphsOf(n, i, path)) visit(sub.graph, sub.path);
    });
  };
  if (model.graph) visit(model.graph, '');
  return names;
}

/** How a consumer uses a weight input, and along which axis its output channels run. */
export interface WeightRole {
  readonly role: 'conv' | 'conv-transpose' | 'gemm' | 'matmul' | 'embedding' | 'recurrent';
  /** Output-channel axis for per-channel quantization (undefined: per-tensor only). */
  readonly channelAxis: number | undefined;
  /** Axis that is reduced over (the K of a MatMul), for block-wise schemes. */
  readonly reductionAxis: number | undefined;
}

function intAttr(node: NodeProto, name: string, dflt: number): number {
  const a = node.attribute.find((x) => x.name === name);
  return a ? Number(a.i) : dflt;
}

/** The role of `consumer`'s input as a weight, or undefined when it is not a weight input (bias, scale, shape ...). */
export function weightRole(consumer: Consumer, rank: number): WeightRole | undefined {
  const { node, inputIndex } = consumer;
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  switch (node.opType) {
    case 'Conv':
      return inputIndex === 1 && rank >= 3 ? { role: 'conv', channelAxis: 0, reductionAxis: 1 } : undefined;
    case 'ConvTranspose':
      return inputIndex === 1 && rank >= 3 ? { role: 'conv-transpose', channelAxis: 1, reductionAxis: 0 } : undefined;
    case 'Gemm': {
      if (inputIndex !== 1 || rank !== 2) return undefined;
      const transB = intAttr(node, 'transB', 0) !== 0;
      return { role: 'gemm', channelAxis: transB ? 0 : 1, reductionAxis: transB ? 1 : 0 };
    }
    case 'MatMul':
      return inputIndex === 1 && rank >= 2 ? { role: 'matmul', channelAxis: rank - 1, reductionAxis: rank - 2 } : undefined;
    case 'Gather':
      return inputIndex === 0 && rank === 2 && intAttr(node, 'axis', 0) === 0
        ? { role: 'embedding', channelAxis: 0, reductionAxis: 1 }
        : undefined;
    case 'LSTM':
    case 'GRU':
    case 'RNN':
      return (inputIndex === 1 || inputIndex === 2) && rank === 3 ? { role: 'recurrent', channelAxis: 1, reductionAxis: 2 } : undefined;
  }
  return undefined;
}

/** One role shared by every consumer, or undefined when any consumer does not use it as a weight or they disagree on the axis. */
export function sharedRole(def: WeightDef): WeightRole | undefined {
  if (def.consumers.length === 0 || def.graphOutput) return undefined;
  let role: WeightRole | undefined;
  for (const c of def.consumers) {
    const r = weightRole(c, def.shape.length);
    if (!r) return undefined;
    if (!role) role = r;
    else if (role.channelAxis !== r.channelAxis) role = { role: role.role, channelAxis: undefined, reductionAxis: undefined };
  }
  return role;
}
