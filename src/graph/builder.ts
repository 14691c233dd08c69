/**
 * GraphBuilder: make or extend an ONNX graph in code. Every node and tensor
 * gets a unique name; constants become initializers (cached, so the same
 * small constant is stored once).
 */
import { create } from '@bufbuild/protobuf';
import {
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  type GraphProto,
  type ModelProto,
  type NodeProto,
} from 'onnx-buf';
import { makeAttributes, type Attrs } from './attributes.js';
import { NameGen } from './names.js';
import { makeTensorProto, ONNX_DTYPE, type GraphDType, type TensorValues } from './tensor-proto.js';
import { makeValueInfo, type Dim } from './value-info.js';

export interface NodeOptions {
  /** Output names, or how many fresh outputs to make (default 1). */
  outputs?: number | readonly string[];
  attrs?: Attrs;
  /** Base of the node name (default: the op type). */
  name?: string;
  /** Op domain (default '' = ai.onnx). */
  domain?: string;
}

export class GraphBuilder {
  readonly graph: GraphProto;
  readonly names: NameGen;
  private readonly constCache = new Map<string, string>();

  /** Wraps `graph` (mutated in place) or a new empty graph. */
  constructor(graph?: GraphProto, name = 'graph') {
    this.graph = graph ?? create(GraphProtoSchema, { name });
    this.names = new NameGen();
    for (const n of this.graph.node) {
      if (n.name) this.names.reserve(n.name);
      for (const t of [...n.input, ...n.output]) if (t) this.names.reserve(t);
    }
    for (const t of this.graph.initializer) this.names.reserve(t.name);
    for (const v of [...this.graph.input, ...this.graph.output, ...this.graph.valueInfo]) this.names.reserve(v.name);
  }

  /** Adds a node; returns its output names. */
  node(opType: string, inputs: readonly string[], opts: NodeOptions = {}): string[] {
    const base = opts.name ?? opType;
    const nodeName = this.names.fresh(base);
    const outs =
      typeof opts.outputs === 'object'
        ? [...opts.outputs]
        : Array.from({ length: opts.outputs ?? 1 }, (_, i) => this.names.fresh(`${nodeName}_out${i === 0 ? '' : i}`));
    for (const o of outs) if (o) this.names.reserve(o);
    const node: NodeProto = create(NodeProtoSchema, {
      name: nodeName,
      opType,
      domain: opts.domain ?? '',
      input: [...inputs],
      output: outs,
      attribute: makeAttributes(opts.attrs),
    });
    this.graph.node.push(node);
    return outs;
  }

  /** Adds a single-output node; returns the output name. */
  op(opType: string, inputs: readonly string[], attrs?: Attrs, name?: string): string {
    return this.node(opType, inputs, { attrs, ...(name === undefined ? {} : { name }) })[0]!;
  }

  /** Adds an initializer with a fresh name based on `base`; returns the name. */
  initializer(base: string, dtype: GraphDType, shape: readonly number[], values: TensorValues): string {
    const name = this.names.fresh(base);
    this.graph.initializer.push(makeTensorProto(name, dtype, shape, values));
    return name;
  }

  /** A (cached) constant initializer. Use for small constants: shapes, axes, scalars. */
  constant(dtype: GraphDType, shape: readonly number[], values: readonly number[]): string {
    const key = `${dtype}|${shape.join(',')}|${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.initializer(`const_${dtype}`, dtype, shape, values);
    this.constCache.set(key, name);
    return name;
  }

  /** A scalar (rank-0) constant. */
  scalar(value: number, dtype: GraphDType = 'float32'): string {
    return this.constant(dtype, [], [value]);
  }

  /** A 1-D int64 constant (shapes, axes, starts/ends). */
  int64s(values: readonly number[]): string {
    return this.constant('int64', [values.length], values);
  }

  /** Declares a graph input. */
  input(name: string, dtype: GraphDType | number, shape?: readonly Dim[]): string {
    this.names.reserve(name);
    this.graph.input.push(makeValueInfo(name, typeof dtype === 'number' ? dtype : ONNX_DTYPE[dtype], shape));
    return name;
  }

  /** Declares a graph output (dtype 0 = let the runtime infer it). */
  output(name: string, dtype: GraphDType | number = 0, shape?: readonly Dim[]): string {
    this.graph.output.push(makeValueInfo(name, typeof dtype === 'number' ? dtype : ONNX_DTYPE[dtype], shape));
    return name;
  }
}

export interface ModelOptions {
  /** Default-domain opset version (default 17). */
  opset?: number;
  /** IR version (default 8, what opset 17 needs and ORT 1.30 reads). */
  irVersion?: number;
  producerName?: string;
  /** Extra opset imports such as { domain: 'com.microsoft', version: 1 }. */
  extraOpsets?: { domain: string; version: number }[];
}

/** Wraps a graph into a ModelProto. */
export function makeModel(graph: GraphProto, opts: ModelOptions = {}): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: BigInt(opts.irVersion ?? 8),
    producerName: opts.producerName ?? 'modelpress',
    opsetImport: [
      create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opts.opset ?? 17) }),
      ...(opts.extraOpsets ?? []).map((o) => create(OperatorSetIdProtoSchema, { domain: o.domain, version: BigInt(o.version) })),
    ],
    graph,
  });
}

/** The default-domain opset version a model imports (0 if none). */
export function defaultOpset(model: ModelProto): number {
  const o = model.opsetImport.find((x) => x.domain === '' || x.domain === 'ai.onnx');
  return o ? Number(o.version) : 0;
}
