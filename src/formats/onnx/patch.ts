/**
 * Replacing weights: a quantizer or converter hands new tensors for named
 * weights and gets a new ModelProto; the input proto is left untouched
 * (payload bytes of untouched tensors are shared, not copied).
 */
import { AttributeProto_AttributeType, type AttributeProto, type ModelProto, type TensorProto } from 'onnx-buf';
import { fail } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { TensorLocation } from '../types.js';
import { cloneSharingBytes } from './clone.js';
import { describeWeightSlot, weightSlots, type WeightSlot } from './list.js';
import { sparseWithDense } from './sparse.js';
import { tensorToProto, type TensorEncodeOptions } from './tensor-proto.js';

export interface OnnxTensorReplacement {
  /** The weight's name as listOnnxTensors reports it (initializer name, or the Constant node's output). */
  readonly name: string;
  /** Graph path ('' = main graph, e.g. 'If_0/then_branch'); taken from `location` when absent. */
  readonly graph?: string | undefined;
  /** The location listOnnxTensors reported (only its `graph` is used). */
  readonly location?: TensorLocation | undefined;
  /** The new value; its dtype and shape may differ from the old one. */
  readonly tensor: Tensor;
}

export interface ReplaceOptions extends TensorEncodeOptions {
  /** File name for error messages. */
  readonly file?: string | undefined;
}

function graphOf(r: OnnxTensorReplacement): string {
  if (r.graph !== undefined) return r.graph;
  if (r.location && 'graph' in r.location) return r.location.graph;
  return '';
}

/** A TensorProto for `t` keeping the old one's name, doc string and metadata. */
function replacementProto(old: TensorProto | undefined, name: string, t: Tensor, opts: ReplaceOptions): TensorProto {
  const tp = tensorToProto(old ? old.name : name, t, opts);
  if (old?.docString) tp.docString = old.docString;
  if (old && old.metadataProps.length > 0) tp.metadataProps = old.metadataProps;
  return tp;
}

function isScalar(t: Tensor): boolean {
  return t.shape.length === 0;
}

function isVector(t: Tensor): boolean {
  return t.shape.length === 1;
}

/** Rewrites a Constant's value_* attribute in place when the new value fits it, else turns it into a `value` tensor. */
function replaceConstant(slot: Extract<WeightSlot, { kind: 'constant' }>, t: Tensor, opts: ReplaceOptions): void {
  const a = slot.attribute;
  const f32 = t.dtype === 'float32' ? Array.from(new Float32Array(new Uint8Array(t.data).buffer)) : undefined;
  const i64 = t.dtype === 'int64' ? Array.from(new BigInt64Array(new Uint8Array(t.data).buffer)) : undefined;
  if (a.name === 'value_float' && f32 && isScalar(t)) return void (a.f = f32[0]!);
  if (a.name === 'value_floats' && f32 && isVector(t)) return void (a.floats = f32);
  if (a.name === 'value_int' && i64 && isScalar(t)) return void (a.i = i64[0]!);
  if (a.name === 'value_ints' && i64 && isVector(t)) return void (a.ints = i64);
  if (a.name === 'value_string' && t.dtype === 'string' && isScalar(t)) return void (a.s = t.strings![0] as Uint8Array<ArrayBuffer>);
  if (a.name === 'value_strings' && t.dtype === 'string' && isVector(t))
    return void (a.strings = t.strings!.map((s) => s as Uint8Array<ArrayBuffer>));
  if (a.name === 'sparse_value' && a.sparseTensor) {
    a.sparseTensor = sparseWithDense(a.sparseTensor, t, { ...opts, where: describeWeightSlot(slot) });
    return;
  }
  const old = a.name === 'value' ? a.t : undefined;
  const tp = replacementProto(old, old ? old.name : '', t, opts);
  if (a.name !== 'value') resetToTensorAttribute(a);
  a.t = tp;
}

function resetToTensorAttribute(a: AttributeProto): void {
  for (const key of ['f', 'i', 's', 'sparseTensor'] as const) delete (a as Record<string, unknown>)[key];
  a.floats = [];
  a.ints = [];
  a.strings = [];
  a.name = 'value';
  a.type = AttributeProto_AttributeType.TENSOR;
}

/**
 * A copy of `proto` with the named weights replaced. Each replacement must
 * match exactly one weight (by graph path and name), else E_NOT_FOUND /
 * E_GRAPH. A replaced tensor is stored inline (raw_data unless
 * `storage: 'typed'`), even if the old one was external.
 */
export function replaceOnnxTensors(
  proto: ModelProto,
  replacements: readonly OnnxTensorReplacement[],
  opts: ReplaceOptions = {},
): ModelProto {
  const out = cloneSharingBytes(proto);
  const byKey = new Map<string, WeightSlot[]>();
  for (const slot of weightSlots(out)) {
    const key = `${slot.path}\u0000${slot.name}`;
    byKey.set(key, [...(byKey.get(key) ?? []), slot]);
  }
  for (const r of replacements) {
    const graph = graphOf(r);
    const slots = byKey.get(`${graph}\u0000${r.name}`);
    const where = graph ? ` in graph ${graph}` : ' in the main graph';
    if (!slots) fail('E_NOT_FOUND', `no weight named '${r.name}'${where}`, opts.file);
    if (slots.length > 1) fail('E_GRAPH', `${slots.length} weights are named '${r.name}'${where}; cannot tell which to replace`, opts.file);
    const slot = slots[0]!;
    switch (slot.kind) {
      case 'initializer':
        slot.graph.initializer[slot.index] = replacementProto(slot.tensor, r.name, r.tensor, opts);
        break;
      case 'sparse_initializer':
        slot.graph.sparseInitializer[slot.index] = sparseWithDense(slot.sparse, r.tensor, { ...opts, where: describeWeightSlot(slot) });
        break;
      case 'constant':
        replaceConstant(slot, r.tensor, opts);
        break;
    }
  }
  return out;
}
