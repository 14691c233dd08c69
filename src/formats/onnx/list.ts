/**
 * The weights of an ONNX model wherever they live: graph initializers,
 * sparse_initializers (reported dense), Constant nodes (`value`,
 * `sparse_value`, `value_float(s)`, `value_int(s)`, `value_string(s)`),
 * the same inside every subgraph (If/Loop/Scan bodies, recursively) and
 * inside function bodies, with payloads in external files read on demand.
 * Tensor-valued attributes of other ops (e.g. ConstantOfShape's fill value)
 * are parameters of the op, not weights, and are not listed.
 */
import type { AttributeProto, GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto } from 'onnx-buf';
import { byteLength } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { NamedTensor, TensorLocation } from '../types.js';
import { externalDataInfo, isExternal, type ExternalSources } from './external.js';
import type { OnnxModel } from './read.js';
import { denseFromSparse } from './sparse.js';
import { checkTensorProto, tensorFromProto, type TensorDecodeOptions } from './tensor-proto.js';
import { nodeLabel, walkModel } from './walk.js';

/** The attributes of a Constant node that hold its value. */
export const CONSTANT_VALUE_ATTRIBUTES = [
  'value',
  'sparse_value',
  'value_float',
  'value_floats',
  'value_int',
  'value_ints',
  'value_string',
  'value_strings',
] as const;

export function isConstantNode(node: NodeProto): boolean {
  return node.opType === 'Constant' && (node.domain === '' || node.domain === 'ai.onnx');
}

/** A weight's place in the proto: enough to read it and to replace it. */
export type WeightSlot =
  | {
      readonly kind: 'initializer';
      readonly name: string;
      readonly path: string;
      readonly graph: GraphProto;
      readonly index: number;
      readonly tensor: TensorProto;
    }
  | {
      readonly kind: 'sparse_initializer';
      readonly name: string;
      readonly path: string;
      readonly graph: GraphProto;
      readonly index: number;
      readonly sparse: SparseTensorProto;
    }
  | {
      readonly kind: 'constant';
      readonly name: string;
      readonly path: string;
      readonly node: NodeProto;
      readonly nodeLabel: string;
      readonly attribute: AttributeProto;
    };

function constantSlots(nodes: NodeProto[], path: string, out: WeightSlot[]): void {
  nodes.forEach((node, i) => {
    if (!isConstantNode(node)) return;
    const label = nodeLabel(node, i);
    const attribute = node.attribute.find((a) => (CONSTANT_VALUE_ATTRIBUTES as readonly string[]).includes(a.name));
    if (attribute) out.push({ kind: 'constant', name: node.output[0] || label, path, node, nodeLabel: label, attribute });
  });
}

/** Every weight slot of the model in walk order (per graph: initializers, sparse initializers, Constant nodes). */
export function weightSlots(proto: ModelProto): WeightSlot[] {
  const out: WeightSlot[] = [];
  walkModel(
    proto,
    ({ graph, path }) => {
      graph.initializer.forEach((tensor, index) => out.push({ kind: 'initializer', name: tensor.name, path, graph, index, tensor }));
      graph.sparseInitializer.forEach((sparse, index) =>
        out.push({ kind: 'sparse_initializer', name: sparse.values?.name ?? '', path, graph, index, sparse }),
      );
      constantSlots(graph.node, path, out);
    },
    ({ nodes, path }) => constantSlots(nodes, path, out),
  );
  return out;
}

/** Human description of a weight slot, for error messages. */
export function describeWeightSlot(slot: WeightSlot): string {
  const inGraph = slot.path ? ` in ${slot.path}` : '';
  if (slot.kind === 'constant') return `Constant node '${slot.nodeLabel}' attribute ${slot.attribute.name}${inGraph}`;
  return `${slot.kind}${inGraph}`;
}

function externalLocation(tp: TensorProto, path: string, where: string, file: string | undefined): TensorLocation {
  const info = externalDataInfo(tp, `tensor '${tp.name}' (${where})`, file);
  const layout = checkTensorProto(tp, { file, where });
  const length = info.length ?? byteLength(layout.dtype, layout.count);
  return { kind: 'external', graph: path, file: info.location, offset: info.offset, length };
}

function scalarList(values: readonly number[] | readonly bigint[], dtype: 'float32' | 'int64', scalar: boolean): Tensor {
  const data =
    dtype === 'float32'
      ? new Uint8Array(Float32Array.from(values as number[]).buffer)
      : new Uint8Array(BigInt64Array.from(values as bigint[]).buffer);
  return { dtype, shape: scalar ? [] : [values.length], data };
}

/** The tensor a Constant node's value attribute holds. */
export function constantValue(attr: AttributeProto, opts: TensorDecodeOptions): Tensor {
  switch (attr.name) {
    case 'value':
      if (!attr.t) break;
      return tensorFromProto(attr.t, opts);
    case 'sparse_value':
      if (!attr.sparseTensor) break;
      return denseFromSparse(attr.sparseTensor, opts);
    case 'value_float':
      return scalarList([attr.f], 'float32', true);
    case 'value_floats':
      return scalarList(attr.floats, 'float32', false);
    case 'value_int':
      return scalarList([attr.i], 'int64', true);
    case 'value_ints':
      return scalarList(attr.ints, 'int64', false);
    case 'value_string':
      return { dtype: 'string', shape: [], data: new Uint8Array(0), strings: [attr.s] };
    case 'value_strings':
      return { dtype: 'string', shape: [attr.strings.length], data: new Uint8Array(0), strings: attr.strings };
  }
  return failMissing(attr, opts);
}

function failMissing(attr: AttributeProto, opts: TensorDecodeOptions): never {
  return fail(
    'E_CORRUPT',
    `${opts.where ?? 'Constant node'}: attribute ${attr.name} has no ${attr.name === 'value' ? 'tensor (t)' : 'sparse_tensor'}`,
    opts.file,
  );
}

/** Reads one weight slot. */
export function readWeightSlot(slot: WeightSlot, sources: ExternalSources & { file?: string | undefined }): NamedTensor {
  const where = describeWeightSlot(slot);
  const opts: TensorDecodeOptions = { ...sources, where };
  switch (slot.kind) {
    case 'initializer': {
      const location: TensorLocation = isExternal(slot.tensor)
        ? externalLocation(slot.tensor, slot.path, where, sources.file)
        : { kind: 'initializer', graph: slot.path };
      return { name: slot.name, tensor: tensorFromProto(slot.tensor, opts), location };
    }
    case 'sparse_initializer':
      return { name: slot.name, tensor: denseFromSparse(slot.sparse, opts), location: { kind: 'sparse', graph: slot.path } };
    case 'constant': {
      const t = slot.attribute.t;
      const location: TensorLocation =
        slot.attribute.name === 'value' && t && isExternal(t)
          ? externalLocation(t, slot.path, where, sources.file)
          : { kind: 'constant', graph: slot.path, node: slot.nodeLabel, attribute: slot.attribute.name };
      return { name: slot.name, tensor: constantValue(slot.attribute, opts), location };
    }
  }
}

/**
 * Every weight of the model with its location (see the module comment).
 * Sparse tensors are given dense, with location kind 'sparse' (initializers)
 * or 'constant' attribute 'sparse_value' (Constant nodes). External payloads
 * are read through the model's loaders (from readOnnx / readOnnxFile) or `sources`.
 */
export function listOnnxTensors(model: OnnxModel | ModelProto, sources: ExternalSources & { file?: string } = {}): NamedTensor[] {
  const isModel = 'proto' in model;
  const proto = isModel ? model.proto : model;
  const src = {
    file: sources.file ?? (isModel ? model.file : undefined),
    loadExternal: sources.loadExternal ?? (isModel ? model.loadExternal : undefined),
    readExternal: sources.readExternal ?? (isModel ? model.readExternal : undefined),
  };
  return weightSlots(proto).map((slot) => readWeightSlot(slot, src));
}
