/**
 * Splitting a model into a skeleton (structure without tensor payloads) and
 * the ordered list of payloads removed from it, and putting them back. The
 * container stores the skeleton with a generic coder and each payload with a
 * tensor codec; restoreWeights + writeOnnx then gives the original bytes.
 *
 * Payloads are identified by their position in the walk over every
 * TensorProto (walk.ts), which depends only on structure, so the same walk
 * over the skeleton (even after writeOnnx + readOnnx with validate: false)
 * finds the same slots.
 */
import { isFieldSet } from '@bufbuild/protobuf';
import { TensorProtoSchema, type ModelProto, type TensorProto } from 'onnx-buf';
import { dtypeFromOnnx, type DType } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import { cloneSharingBytes } from './clone.js';
import type { PayloadField } from './tensor-proto.js';
import { allTensorProtos } from './walk.js';

/** The fields stripWeights moves out; string_data stays in the skeleton. */
export type StrippedField = Exclude<PayloadField, 'stringData'>;

export interface StrippedPayload {
  /** Position of the tensor among all TensorProtos of the model in walk order. */
  readonly slot: number;
  /** Tensor name (for reports; not used to restore). */
  readonly name: string;
  /** Element dtype (undefined for an unknown data_type), and dims, to help a codec. */
  readonly dtype: DType | undefined;
  readonly dims: readonly number[];
  /** The field the payload came from. */
  readonly field: StrippedField;
  /**
   * The field's content as little-endian bytes: raw_data as is; float_data
   * as float32, int32_data as int32, int64_data as int64, double_data as
   * float64, uint64_data as uint64 values.
   */
  readonly bytes: Uint8Array;
}

export interface StrippedModel {
  /** The model with the payload fields cleared (raw_data unset). Encode with writeOnnx; read back with readOnnx(bytes, { validate: false }). */
  readonly skeleton: ModelProto;
  readonly payloads: StrippedPayload[];
}

export interface StripOptions {
  /** Only payloads of at least this many bytes are moved out; default 0 (all non-empty payloads). */
  readonly minBytes?: number | undefined;
}

function le(values: ArrayLike<number> | ArrayLike<bigint>, field: StrippedField): Uint8Array {
  switch (field) {
    case 'floatData':
      return new Uint8Array(Float32Array.from(values as ArrayLike<number>).buffer);
    case 'int32Data':
      return new Uint8Array(Int32Array.from(values as ArrayLike<number>).buffer);
    case 'doubleData':
      return new Uint8Array(Float64Array.from(values as ArrayLike<number>).buffer);
    case 'int64Data':
      return new Uint8Array(BigInt64Array.from(values as ArrayLike<bigint>).buffer);
    case 'uint64Data':
      return new Uint8Array(BigUint64Array.from(values as ArrayLike<bigint>).buffer);
    case 'rawData':
      throw new Error('unreachable');
  }
}

function fromLe(bytes: Uint8Array, field: StrippedField): number[] | bigint[] {
  const b = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
  const size = field === 'floatData' || field === 'int32Data' ? 4 : 8;
  if (b.byteLength % size !== 0) fail('E_CORRUPT', `payload for ${field} has ${b.byteLength} bytes, not a multiple of ${size}`);
  const n = b.byteLength / size;
  switch (field) {
    case 'floatData':
      return Array.from(new Float32Array(b.buffer, b.byteOffset, n));
    case 'int32Data':
      return Array.from(new Int32Array(b.buffer, b.byteOffset, n));
    case 'doubleData':
      return Array.from(new Float64Array(b.buffer, b.byteOffset, n));
    case 'int64Data':
      return Array.from(new BigInt64Array(b.buffer, b.byteOffset, n));
    case 'uint64Data':
      return Array.from(new BigUint64Array(b.buffer, b.byteOffset, n));
    case 'rawData':
      throw new Error('unreachable');
  }
}

const typed: readonly Exclude<StrippedField, 'rawData'>[] = ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data'];

function payloadOf(tp: TensorProto): { field: StrippedField; bytes: Uint8Array }[] {
  const out: { field: StrippedField; bytes: Uint8Array }[] = [];
  if (isFieldSet(tp, TensorProtoSchema.field.rawData) && tp.rawData.byteLength > 0) out.push({ field: 'rawData', bytes: tp.rawData });
  for (const f of typed) if (tp[f].length > 0) out.push({ field: f, bytes: le(tp[f], f) });
  return out;
}

/** The model without its tensor payloads, and the payloads in walk order. `proto` is not modified. */
export function stripWeights(proto: ModelProto, opts: StripOptions = {}): StrippedModel {
  const min = opts.minBytes ?? 0;
  const skeleton = cloneSharingBytes(proto);
  const payloads: StrippedPayload[] = [];
  allTensorProtos(skeleton).forEach(({ tensor: tp }, slot) => {
    for (const { field, bytes } of payloadOf(tp)) {
      if (bytes.byteLength < Math.max(1, min)) continue;
      payloads.push({ slot, name: tp.name, dtype: dtypeFromOnnx(tp.dataType), dims: tp.dims.map(Number), field, bytes });
      if (field === 'rawData') delete (tp as { rawData?: unknown }).rawData;
      else tp[field] = [];
    }
  });
  return { skeleton, payloads };
}

/** The skeleton with `payloads` put back: writeOnnx of the result equals writeOnnx of the original. `skeleton` is not modified. */
export function restoreWeights(skeleton: ModelProto, payloads: readonly StrippedPayload[]): ModelProto {
  const out = cloneSharingBytes(skeleton);
  const tensors = allTensorProtos(out);
  for (const p of payloads) {
    const entry = tensors[p.slot];
    if (!entry) fail('E_CORRUPT', `payload for slot ${p.slot} ('${p.name}') but the skeleton has only ${tensors.length} tensors`);
    const tp = entry.tensor;
    if (p.field === 'rawData') {
      if (isFieldSet(tp, TensorProtoSchema.field.rawData)) fail('E_CORRUPT', `slot ${p.slot} ('${tp.name}') already has raw_data`);
      tp.rawData = p.bytes as Uint8Array<ArrayBuffer>;
    } else {
      if (tp[p.field].length > 0) fail('E_CORRUPT', `slot ${p.slot} ('${tp.name}') already has ${p.field}`);
      (tp as Record<string, unknown>)[p.field] = fromLe(p.bytes, p.field);
    }
  }
  return out;
}
