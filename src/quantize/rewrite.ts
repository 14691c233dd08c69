/**
 * Graph surgery shared by the weight schemes: a weight's definition (an
 * initializer or a Constant node) is replaced by new initializers plus a few
 * nodes that decode them back to a tensor of the same name, so consumers are
 * untouched. Node replacement (e.g. MatMul -> MatMulNBits) swaps a consumer.
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, type GraphProto, type NodeProto, type TensorProto } from 'onnx-buf';
import type { DType } from '../core/dtypes.js';
import { makeTensor, type Tensor } from '../core/tensor.js';
import { tensorToProto } from '../formats/onnx/tensor-proto.js';
import { makeAttributes, type Attrs } from '../graph/attributes.js';
import type { NameGen } from '../graph/names.js';
import type { WeightDef } from '../graph/weights.js';

/** New tensors and nodes that produce a weight's value under its old name. */
export interface Decoder {
  readonly initializers: TensorProto[];
  /** In execution order; the last one writes the weight's name. */
  readonly nodes: NodeProto[];
}

/** Short node-name suffixes: names are stored in the file, and a model has hundreds of them. */
const SHORT: Record<string, string> = { DequantizeLinear: 'dq', Cast: 'cast', Gather: 'gather', Mul: 'mul', Sub: 'sub' };

/** Builds decoder pieces with names unique in the whole model. */
export class DecoderBuilder {
  readonly initializers: TensorProto[] = [];
  readonly nodes: NodeProto[] = [];

  constructor(
    private readonly names: NameGen,
    readonly base: string,
  ) {}

  /** Adds an initializer named `${base}_${suffix}` (made unique); returns its name. */
  tensor(suffix: string, dtype: DType, shape: readonly number[], data: Uint8Array): string {
    const name = this.names.fresh(`${this.base}_${suffix}`);
    this.initializers.push(tensorToProto(name, makeTensor(dtype, shape, data)));
    return name;
  }

  fromTensor(suffix: string, t: Tensor): string {
    return this.tensor(suffix, t.dtype, t.shape, t.data);
  }

  /** Adds a node; `output` is the name to write (a fresh one when omitted). */
  node(opType: string, inputs: readonly string[], attrs?: Attrs, output?: string, domain = ''): string {
    const out = output ?? this.names.fresh(`${this.base}_${(SHORT[opType] ?? opType).toLowerCase()}`);
    this.nodes.push(
      create(NodeProtoSchema, {
        name: this.names.fresh(`${this.base}_${SHORT[opType] ?? opType}`),
        opType,
        domain,
        input: [...inputs],
        output: [out],
        attribute: makeAttributes(attrs),
      }),
    );
    return out;
  }

  build(): Decoder {
    return { initializers: this.initializers, nodes: this.nodes };
  }
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Replaces `def`'s definition by `decoder` in the graph that defines it (in place). */
export function replaceDefinition(def: WeightDef, decoder: Decoder): void {
  const g: GraphProto = def.graph;
  if (def.kind === 'initializer') {
    const i = g.initializer.indexOf(def.tensor);
    if (i >= 0) g.initializer.splice(i, 1);
    // IR < 4 lists initializers among the graph inputs too
    const inputIdx = g.input.findIndex((v) => v.name === def.name);
    if (inputIdx >= 0) g.input.splice(inputIdx, 1);
    g.node.unshift(...decoder.nodes);
  } else {
    const i = g.node.indexOf(def.node!);
    g.node.splice(i, 1, ...decoder.nodes);
  }
  g.initializer.push(...decoder.initializers);
}

/** Removes `def` and adds `initializers` to its graph, for schemes that rewrite the consumers instead. */
export function dropDefinition(def: WeightDef, initializers: readonly TensorProto[]): void {
  const g = def.graph;
  if (def.kind === 'initializer') {
    const i = g.initializer.indexOf(def.tensor);
    if (i >= 0) g.initializer.splice(i, 1);
    const inputIdx = g.input.findIndex((v) => v.name === def.name);
    if (inputIdx >= 0) g.input.splice(inputIdx, 1);
  } else {
    const i = g.node.indexOf(def.node!);
    if (i >= 0) g.node.splice(i, 1);
  }
  g.initializer.push(...initializers);
}

/** Replaces `node` in `graph` by `nodes` (in place, same position). */
export function replaceNode(graph: GraphProto, node: NodeProto, nodes: readonly NodeProto[]): void {
  const i = graph.node.indexOf(node);
  if (i < 0) throw new Error(`node ${node.name} is not in graph ${graph.name}`);
  graph.node.splice(i, 1, ...nodes);
}

/** Payload bytes of a set of initializers. */
export function payloadBytes(tps: readonly TensorProto[]): number {
  let n = 0;
  for (const t of tps) n += t.rawData.byteLength;
  return n;
}
