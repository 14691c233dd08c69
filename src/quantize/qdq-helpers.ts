/**
 * Node- and tensor-making helpers shared by the activation schemes (static,
 * dynamic, fp16): reading a weight's values, quantizing it per tensor or per
 * channel with its error figures, putting new initializers and nodes into a
 * graph under fresh names, replacing a weight's definition by an int8
 * tensor behind a DequantizeLinear, node selection (include/exclude), and
 * the per-tensor report rows.
 */
import { dropDefinition } from './rewrite.js';
import { compilePattern } from './select.js';
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, type GraphProto, type NodeProto, type TensorProto } from 'onnx-buf';
import { fromFloat32, makeTensor, toFloat32, type Tensor } from '../core/tensor.js';
import { tensorFromProto, tensorToProto } from '../formats/onnx/tensor-proto.js';
import { makeAttributes, type Attrs } from '../graph/attributes.js';
import type { NameGen } from '../graph/names.js';
import {
  computeQuantParams,
  dequantizePerChannel,
  dequantizePerTensor,
  errorStats,
  intRange,
  quantizePerChannel,
  quantizePerTensor,
  type ErrorStats,
} from './linear.js';
import type { QuantizeOptions, TensorReport } from './types.js';
import type { WeightDef } from '../graph/weights.js';

/** The float32 values of a weight (float16/bfloat16/float64 converted). */
export function weightValues(def: WeightDef, file?: string): Float32Array {
  return toFloat32(tensorFromProto(def.tensor, file === undefined ? {} : { file }));
}

export interface QuantizedWeight {
  /** int8 or uint8 codes. */
  readonly tensor: Tensor;
  /** float32 scale: scalar, or [channels] when per-channel. */
  readonly scale: Tensor;
  /** Zero point of the codes' dtype, shaped like `scale`; absent means 0 (int32 biases). */
  readonly zeroPoint?: Tensor;
  /** Channel axis for DequantizeLinear, when per-channel. */
  readonly axis: number | undefined;
  /** Reconstruction (q - zp) * scale. */
  readonly restored: Float32Array;
  readonly error: ErrorStats;
  readonly scales: Float32Array;
  readonly zeroPoints: Int32Array;
}

export interface WeightQuantSpec {
  readonly signed: boolean;
  readonly symmetric: boolean;
  readonly reduceRange?: boolean;
  /** Per-channel along this axis; undefined = per tensor. */
  readonly axis?: number | undefined;
}

/** Quantizes float weights `x` of `shape` to 8 bits as `spec` says. */
export function quantizeWeight(x: Float32Array, shape: readonly number[], spec: WeightQuantSpec): QuantizedWeight {
  const range = intRange(8, spec.signed, spec.symmetric, spec.reduceRange ?? false);
  const dtype = spec.signed ? 'int8' : 'uint8';
  let q: Int32Array;
  let scales: Float32Array;
  let zeroPoints: Int32Array;
  let restored: Float32Array;
  if (spec.axis !== undefined) {
    const r = quantizePerChannel(x, shape, spec.axis, range, spec.symmetric);
    q = r.q;
    scales = r.scales;
    zeroPoints = r.zeroPoints;
    restored = dequantizePerChannel(q, shape, spec.axis, scales, zeroPoints);
  } else {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of x) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(lo <= hi)) lo = hi = 0;
    const p = computeQuantParams(lo, hi, range, spec.symmetric);
    q = quantizePerTensor(x, p, range);
    scales = Float32Array.of(p.scale);
    zeroPoints = Int32Array.of(p.zeroPoint);
    restored = dequantizePerTensor(q, p);
  }
  const paramShape = spec.axis !== undefined ? [scales.length] : [];
  return {
    tensor: intTensor(dtype, shape, q),
    scale: fromFloat32(scales, 'float32', paramShape),
    zeroPoint: intTensor(dtype, paramShape, zeroPoints),
    axis: spec.axis,
    restored,
    error: errorStats(x, restored),
    scales,
    zeroPoints,
  };
}

/** An int8/uint8/int32 tensor from integer codes. */
export function intTensor(dtype: 'int8' | 'uint8' | 'int32', shape: readonly number[], values: ArrayLike<number>): Tensor {
  const bytes =
    dtype === 'int8'
      ? new Uint8Array(Int8Array.from(values).buffer)
      : dtype === 'uint8'
        ? Uint8Array.from(values)
        : new Uint8Array(Int32Array.from(values).buffer);
  return makeTensor(dtype, shape, bytes);
}

/** Adds `t` as an initializer of `graph` under a fresh name based on `base`; returns the name. */
export function addInitializer(graph: GraphProto, names: NameGen, base: string, t: Tensor): string {
  const name = names.fresh(base);
  graph.initializer.push(tensorToProto(name, t));
  return name;
}

/** A new node (not yet placed in any graph) with a fresh name. */
export function makeNode(
  names: NameGen,
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs?: Attrs,
  domain = '',
): NodeProto {
  return create(NodeProtoSchema, {
    name: names.fresh(`${opType}_mp`),
    opType,
    domain,
    input: [...inputs],
    output: [...outputs],
    attribute: makeAttributes(attrs),
  });
}

/**
 * Removes a weight's original definition from its graph (the initializer,
 * its graph-input entry if an old IR listed it there, or the Constant node).
 */
export function removeWeightDefinition(def: WeightDef): void {
  dropDefinition(def, []);
}

/**
 * Replaces `def` by int8/uint8 codes behind a DequantizeLinear whose output
 * keeps the weight's name, so every consumer reads the reconstruction.
 * The DequantizeLinear goes first in the defining graph (its inputs are all
 * initializers). `domain` is '' (or 'com.microsoft' for old opsets).
 */
export function replaceWithDequantize(def: WeightDef, qw: QuantizedWeight, names: NameGen): void {
  const g = def.graph;
  const q = addInitializer(g, names, `${def.name}_quantized`, qw.tensor);
  const s = addInitializer(g, names, `${def.name}_scale`, qw.scale);
  const inputs = qw.zeroPoint ? [q, s, addInitializer(g, names, `${def.name}_zero_point`, qw.zeroPoint)] : [q, s];
  removeWeightDefinition(def);
  const dq = makeNode(names, 'DequantizeLinear', inputs, [def.name], qw.axis !== undefined ? { axis: qw.axis } : undefined);
  g.node.unshift(dq);
}

/** Whether a node (and optionally a tensor it reads) is selected by opts.include / opts.exclude. */
export function nodeSelected(opts: QuantizeOptions, node: NodeProto, label: string, tensorName?: string): boolean {
  const keys = [label, node.opType, ...(tensorName ? [tensorName] : [])];
  if (opts.exclude?.some((p) => compilePattern(p)(keys))) return false;
  if (opts.include && opts.include.length > 0) return opts.include.some((p) => compilePattern(p)(keys));
  return true;
}

/** Bytes a TensorProto's values take (raw, whatever field holds them). */
export function tensorBytes(tp: TensorProto): number {
  const t = tensorFromProto(tp);
  return t.data.byteLength;
}

/** The report row of a quantized weight. */
export function weightReport(def: WeightDef, action: string, qw: QuantizedWeight): TensorReport {
  const extra = qw.scale.data.byteLength + (qw.zeroPoint?.data.byteLength ?? 0);
  return {
    name: def.name,
    graph: def.path,
    ops: [...new Set(def.consumers.map((c) => c.node.opType))],
    action,
    dtype: def.dtype ?? 'unknown',
    shape: def.shape,
    bytesBefore: tensorBytes(def.tensor),
    bytesAfter: qw.tensor.data.byteLength + extra,
    error: { mse: qw.error.mse, snrDb: qw.error.snrDb, maxAbs: qw.error.maxAbs },
  };
}

/** The report row of a weight left alone. */
export function skippedReport(def: WeightDef, reason: string): TensorReport {
  const bytes = tensorBytes(def.tensor);
  return {
    name: def.name,
    graph: def.path,
    ops: [...new Set(def.consumers.map((c) => c.node.opType))],
    action: 'skipped',
    reason,
    dtype: def.dtype ?? 'unknown',
    shape: def.shape,
    bytesBefore: bytes,
    bytesAfter: bytes,
  };
}
