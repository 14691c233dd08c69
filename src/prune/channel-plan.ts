/**
 * Planning structured channel pruning: for every Conv (group 1), Gemm or
 * MatMul whose weight is a constant, follow its output channels forward
 * through the ops that keep channels separate (BatchNormalization, unary
 * activations, elementwise ops with scalar or per-channel constants, pooling,
 * depthwise Conv, Flatten) to the layers that consume them (Conv, Gemm,
 * MatMul input channels). The plan lists every tensor slice that removing a
 * channel needs; a layer whose channels reach something else (Add of two
 * branches, Concat, Reshape, a graph output, a grouped Conv, a shared
 * weight ...) is skipped with the reason.
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { intAttr } from '../graph/attributes.js';
import { inferShapes, type ShapeInfo } from '../graph/shape-inference.js';
import { nodeInputs, topologicalSort } from '../graph/toposort.js';
import { nodeLabel } from '../formats/onnx/walk.js';

/** Remove, along `axis` of initializer `tensor`, the `block` entries of every removed channel. */
export interface SliceEdit {
  readonly kind: 'slice';
  readonly tensor: string;
  readonly axis: number;
  /** Entries per channel along the axis (H x W after a Flatten, else 1). */
  readonly block: number;
  /** Why: 'producer weight', 'BatchNormalization scale', 'consumer input channels', ... */
  readonly role: string;
}

/** A depthwise Conv whose `group` shrinks with its channels. */
export interface GroupEdit {
  readonly kind: 'group';
  readonly node: NodeProto;
}

export type ChannelEdit = SliceEdit | GroupEdit;

export interface ChannelLayerPlan {
  /** Label of the producing node (its name, or op_index). */
  readonly layer: string;
  readonly op: 'Conv' | 'Gemm' | 'MatMul';
  readonly node: NodeProto;
  /** The producer's weight initializer and its output-channel axis (scores come from it). */
  readonly weight: string;
  readonly channelAxis: number;
  readonly channels: number;
  readonly edits: ChannelEdit[];
  /** Tensors whose channel count changes (their value_info is dropped). */
  readonly tensors: string[];
  /** Labels of the nodes that consume the channels (the surgery's end points). */
  readonly consumers: string[];
  /** Scale (gamma) of the BatchNormalization applied right to the producer's output, if any. */
  readonly bnScale: string | undefined;
}

export interface SkippedLayer {
  readonly layer: string;
  readonly op: string;
  /** The op that stops the surgery (e.g. 'Add', 'graph output'). */
  readonly blockingOp: string;
  readonly reason: string;
}

export interface ChannelPlan {
  readonly layers: ChannelLayerPlan[];
  readonly skipped: SkippedLayer[];
}

const UNARY = new Set([
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Tanh',
  'Clip',
  'Elu',
  'Selu',
  'Celu',
  'Softplus',
  'Softsign',
  'Mish',
  'Gelu',
  'Erf',
  'Abs',
  'Neg',
  'Exp',
  'Sqrt',
  'Identity',
  'Dropout',
  'ThresholdedRelu',
  'Cast',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Reciprocal',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow', 'PRelu']);
const POOL = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'GlobalLpPool']);

/** How the channels sit in a tensor: along `axis`, `block` entries each (block > 1 after a Flatten). */
interface Layout {
  readonly axis: number;
  readonly block: number;
  readonly rank: number | undefined;
}

class Blocked extends Error {
  constructor(
    readonly blockingOp: string,
    reason: string,
  ) {
    super(reason);
  }
}

interface GraphIndex {
  readonly graph: GraphProto;
  readonly order: NodeProto[];
  readonly labels: Map<NodeProto, string>;
  readonly inits: Map<string, TensorProto>;
  /** How many node inputs (anywhere, subgraphs included) read each name. */
  readonly uses: Map<string, number>;
  /** Names read inside subgraphs (outer-scope captures). */
  readonly capturedBySubgraph: Set<string>;
  readonly outputs: Set<string>;
  readonly shapes: ShapeInfo;
}

function indexGraph(graph: GraphProto): GraphIndex {
  const labels = new Map<NodeProto, string>();
  graph.node.forEach((n, i) => labels.set(n, nodeLabel(n, i)));
  const uses = new Map<string, number>();
  const capturedBySubgraph = new Set<string>();
  for (const n of graph.node) {
    const direct = new Set(n.input);
    for (const name of nodeInputs(n)) {
      uses.set(name, (uses.get(name) ?? 0) + 1);
      if (!direct.has(name)) capturedBySubgraph.add(name);
    }
  }
  return {
    graph,
    order: topologicalSort(graph),
    labels,
    inits: new Map(graph.initializer.map((t) => [t.name, t])),
    uses,
    capturedBySubgraph,
    outputs: new Set(graph.output.map((o) => o.name)),
    shapes: inferShapes(graph),
  };
}

function numel(t: TensorProto): number {
  return t.dims.reduce((a, b) => a * Number(b), 1);
}

/** The initializer `name` if only `node` reads it (once); else Blocked. */
function ownedInitializer(ix: GraphIndex, name: string | undefined, node: NodeProto, what: string): TensorProto {
  const t = name ? ix.inits.get(name) : undefined;
  const op = node.opType;
  if (!t) throw new Blocked(op, `${what} of ${ix.labels.get(node)} is not a constant`);
  if ((ix.uses.get(t.name) ?? 0) !== 1) throw new Blocked(op, `${what} ${t.name} of ${ix.labels.get(node)} is shared with other nodes`);
  return t;
}

/** True for a Reshape to [0, -1] or [n, -1] with a constant shape: a flatten that keeps axis 0. */
function isFlattenReshape(ix: GraphIndex, node: NodeProto): boolean {
  const shape = ix.shapes.constants.get(node.input[1] ?? '');
  return shape !== undefined && shape.length === 2 && shape[1] === -1 && shape[0]! >= 0;
}

/** Follows the channels of `producerOutput` (laid out as `start`) to their consumers; returns the edits or throws Blocked. */
function traceRegion(
  ix: GraphIndex,
  producer: NodeProto,
  start: Layout,
  channels: number,
): { edits: ChannelEdit[]; tensors: string[]; consumers: string[]; bnScale: string | undefined } {
  const region = new Map<string, Layout>([[producer.output[0]!, start]]);
  const edits: ChannelEdit[] = [];
  const consumers: string[] = [];
  let bnScale: string | undefined;
  const after = ix.order.indexOf(producer);
  const enter = (name: string, layout: Layout) => region.set(name, layout);
  for (const node of ix.order.slice(after + 1)) {
    const touched = node.input.filter((i) => region.has(i));
    const captured = nodeInputs(node).filter((i) => region.has(i) && !node.input.includes(i));
    if (captured.length > 0)
      throw new Blocked(node.opType, `channels of ${ix.labels.get(producer)} are read inside a subgraph of ${ix.labels.get(node)}`);
    if (touched.length === 0) continue;
    const label = ix.labels.get(node)!;
    const op = node.opType;
    if (node.domain !== '' && node.domain !== 'ai.onnx')
      throw new Blocked(`${node.domain}.${op}`, `channels reach ${label} (${node.domain}.${op}), which the surgery cannot cut through`);
    const x = region.get(node.input[0]!);
    const onlyFirst = touched.length === 1 && node.input[0] === touched[0] && node.input.indexOf(touched[0]!, 1) < 0;
    if (UNARY.has(op) && onlyFirst && x) {
      if (op === 'Dropout' && node.output[1]) throw new Blocked(op, `Dropout ${label} exposes its mask`);
      enter(node.output[0]!, x);
      continue;
    }
    if (op === 'BatchNormalization' && onlyFirst && x) {
      if (x.block !== 1 || x.axis !== 1) throw new Blocked(op, `BatchNormalization ${label} normalizes a flattened tensor`);
      if (node.output.slice(1).some((o) => o)) throw new Blocked(op, `BatchNormalization ${label} is in training mode (extra outputs)`);
      ['scale', 'bias', 'mean', 'variance'].forEach((what, k) => {
        const t = ownedInitializer(ix, node.input[k + 1], node, `BatchNormalization ${what}`);
        if (numel(t) !== channels) throw new Blocked(op, `BatchNormalization ${what} ${t.name} has ${numel(t)} entries, not ${channels}`);
        edits.push({ kind: 'slice', tensor: t.name, axis: 0, block: 1, role: `BatchNormalization ${what}` });
      });
      if (node.input[0] === producer.output[0]) bnScale = node.input[1];
      enter(node.output[0]!, x);
      continue;
    }
    if (BINARY.has(op) && node.input.length === 2) {
      const layouts = node.input.map((i) => region.get(i));
      const ref = layouts.find((l) => l)!;
      if (layouts.some((l) => l && (l.axis !== ref.axis || l.block !== ref.block)))
        throw new Blocked(op, `${op} ${label} combines the channels in two layouts`);
      node.input.forEach((name, k) => {
        if (layouts[k]) return;
        const t = ix.inits.get(name);
        if (!t)
          throw new Blocked(
            op,
            `${op} ${label} combines the channels of ${ix.labels.get(producer)} with ${name}, another branch (residual or gate)`,
          );
        if (numel(t) === 1) return;
        const dims = t.dims.map(Number);
        const rank = ref.rank;
        const at = rank === undefined ? -1 : ref.axis - (rank - dims.length);
        const perChannel = ref.block === 1 && at >= 0 && dims[at] === channels && dims.every((d, i) => i === at || d === 1);
        if (!perChannel) throw new Blocked(op, `${op} ${label} applies ${name} (shape [${dims.join(', ')}]) that is not per-channel`);
        if ((ix.uses.get(name) ?? 0) !== 1) throw new Blocked(op, `${op} ${label}: per-channel constant ${name} is shared`);
        edits.push({ kind: 'slice', tensor: name, axis: at, block: 1, role: `${op} per-channel constant` });
      });
      enter(node.output[0]!, ref);
      continue;
    }
    if (POOL.has(op) && onlyFirst && x) {
      if (x.axis !== 1 || x.block !== 1) throw new Blocked(op, `${op} ${label} pools a flattened tensor`);
      if (node.output[1]) throw new Blocked(op, `${op} ${label} outputs indices`);
      enter(node.output[0]!, x);
      continue;
    }
    if (op === 'Reshape' && onlyFirst && x && isFlattenReshape(ix, node)) {
      // Reshape(x, [0, -1]) / [N, -1]: torch's x.view(x.size(0), -1), the same as Flatten(axis=1).
      const shape = ix.shapes.get(node.input[0]!)?.shape;
      const rest = shape?.slice(2);
      if (x.axis !== 1 || !rest || !rest.every((d) => typeof d === 'number'))
        throw new Blocked(op, `Reshape ${label}: spatial size of ${node.input[0]} is not static`);
      enter(node.output[0]!, { axis: 1, block: x.block * (rest as number[]).reduce((a, b) => a * b, 1), rank: 2 });
      continue;
    }
    if (op === 'Flatten' && onlyFirst && x) {
      const axis = intAttr(node, 'axis', 1);
      const shape = ix.shapes.get(node.input[0]!)?.shape;
      if (x.axis !== 1 || axis !== 1 || !shape)
        throw new Blocked(op, `Flatten ${label} (axis ${axis}) does not keep the channels on axis 1 or its input shape is unknown`);
      const rest = shape.slice(2);
      if (!rest.every((d) => typeof d === 'number'))
        throw new Blocked(op, `Flatten ${label}: spatial size of ${node.input[0]} is not static`);
      const spatial = (rest as number[]).reduce((a, b) => a * b, 1);
      enter(node.output[0]!, { axis: 1, block: x.block * spatial, rank: 2 });
      continue;
    }
    if (op === 'Conv' && onlyFirst && x) {
      if (x.axis !== 1 || x.block !== 1) throw new Blocked(op, `Conv ${label} reads a flattened tensor`);
      const group = intAttr(node, 'group', 1);
      const w = ownedInitializer(ix, node.input[1], node, 'weight');
      const dims = w.dims.map(Number);
      if (group === 1) {
        edits.push({ kind: 'slice', tensor: w.name, axis: 1, block: 1, role: 'consumer input channels' });
        consumers.push(label);
        continue;
      }
      if (group === channels && dims[0] === channels && dims[1] === 1) {
        edits.push({ kind: 'slice', tensor: w.name, axis: 0, block: 1, role: 'depthwise weight' });
        if (node.input[2])
          edits.push({
            kind: 'slice',
            tensor: ownedInitializer(ix, node.input[2], node, 'bias').name,
            axis: 0,
            block: 1,
            role: 'depthwise bias',
          });
        edits.push({ kind: 'group', node });
        enter(node.output[0]!, x);
        continue;
      }
      throw new Blocked(op, `Conv ${label} is grouped (group ${group}, ${channels} channels)`);
    }
    if (op === 'ConvTranspose' && onlyFirst && x && x.axis === 1 && x.block === 1 && intAttr(node, 'group', 1) === 1) {
      edits.push({
        kind: 'slice',
        tensor: ownedInitializer(ix, node.input[1], node, 'weight').name,
        axis: 0,
        block: 1,
        role: 'consumer input channels',
      });
      consumers.push(label);
      continue;
    }
    if (op === 'Gemm' && onlyFirst && x) {
      if (intAttr(node, 'transA', 0) !== 0 || x.axis !== 1) throw new Blocked(op, `Gemm ${label} reads the channels transposed`);
      const b = ownedInitializer(ix, node.input[1], node, 'weight');
      edits.push({
        kind: 'slice',
        tensor: b.name,
        axis: intAttr(node, 'transB', 0) ? 1 : 0,
        block: x.block,
        role: 'consumer input features',
      });
      consumers.push(label);
      continue;
    }
    if (op === 'MatMul' && onlyFirst && x) {
      const b = ownedInitializer(ix, node.input[1], node, 'weight');
      if (b.dims.length !== 2 || x.rank === undefined || x.axis !== x.rank - 1)
        throw new Blocked(op, `MatMul ${label} does not contract over the channel axis with a 2-D weight`);
      edits.push({ kind: 'slice', tensor: b.name, axis: 0, block: x.block, role: 'consumer input features' });
      consumers.push(label);
      continue;
    }
    throw new Blocked(op, `channels of ${ix.labels.get(producer)} reach ${label} (${op}), which the surgery cannot cut through`);
  }
  for (const name of region.keys())
    if (ix.outputs.has(name)) throw new Blocked('graph output', `channels of ${ix.labels.get(producer)} reach the graph output ${name}`);
  if (consumers.length === 0) throw new Blocked('dead end', `channels of ${ix.labels.get(producer)} reach no Conv/Gemm/MatMul`);
  return { edits, tensors: [...region.keys()], consumers, bnScale };
}

/** Every channel-prunable layer of the main graph, and the layers that are not, with the op that blocks them. */
export function planChannelPruning(model: ModelProto): ChannelPlan {
  const graph = model.graph;
  if (!graph) return { layers: [], skipped: [] };
  const ix = indexGraph(graph);
  const layers: ChannelLayerPlan[] = [];
  const skipped: SkippedLayer[] = [];
  for (const node of ix.order) {
    const op = node.opType;
    if ((op !== 'Conv' && op !== 'Gemm' && op !== 'MatMul') || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const layer = ix.labels.get(node)!;
    try {
      const w = ix.inits.get(node.input[1] ?? '');
      if (!w) continue; // activations x activations (attention): not a layer with weights
      if (op === 'Conv' && intAttr(node, 'group', 1) !== 1) continue; // depthwise/grouped: follows its input's channels
      const dims = w.dims.map(Number);
      const rank = ix.shapes.rank(node.output[0]!);
      let channelAxis: number;
      let start: Layout;
      const edits: ChannelEdit[] = [];
      const own = ownedInitializer(ix, w.name, node, 'weight');
      if (op === 'Conv') {
        channelAxis = 0;
        start = { axis: 1, block: 1, rank };
      } else if (op === 'Gemm') {
        channelAxis = intAttr(node, 'transB', 0) ? 0 : 1;
        start = { axis: 1, block: 1, rank: 2 };
      } else {
        if (dims.length !== 2) throw new Blocked(op, `MatMul ${layer} has a ${dims.length}-D weight`);
        if (rank === undefined) throw new Blocked(op, `MatMul ${layer}: output rank unknown`);
        channelAxis = 1;
        start = { axis: rank - 1, block: 1, rank };
      }
      const channels = dims[channelAxis]!;
      if (channels < 2) continue;
      edits.push({ kind: 'slice', tensor: own.name, axis: channelAxis, block: 1, role: 'producer weight' });
      const bias = node.input[2];
      if (bias) {
        const b = ownedInitializer(ix, bias, node, 'bias');
        if (numel(b) === channels) edits.push({ kind: 'slice', tensor: b.name, axis: b.dims.length - 1, block: 1, role: 'producer bias' });
        else if (numel(b) !== 1) throw new Blocked(op, `${op} ${layer}: bias ${b.name} is not per output channel`);
      }
      const traced = traceRegion(ix, node, start, channels);
      layers.push({
        layer,
        op,
        node,
        weight: own.name,
        channelAxis,
        channels,
        edits: [...edits, ...traced.edits],
        tensors: traced.tensors,
        consumers: traced.consumers,
        bnScale: traced.bnScale,
      });
    } catch (e) {
      if (!(e instanceof Blocked)) throw e;
      skipped.push({ layer, op, blockingOp: e.blockingOp, reason: e.message });
    }
  }
  return { layers, skipped };
}
