/**
 * TensorProto <-> Tensor. Every dtype of src/core/dtypes.ts, stored either in
 * raw_data or in the typed fields the ONNX spec assigns to it, or in an
 * external file. Every inconsistency (unknown data_type, bad dims, payload
 * size that does not match dims x dtype, a typed field the dtype may not use)
 * is a ModelpressError, never a RangeError.
 */
import { create, isFieldSet } from '@bufbuild/protobuf';
import { TensorProtoSchema, type TensorProto } from 'onnx-buf';
import { byteLength, dtypeFromOnnx, dtypeToOnnx, dtypeTraits, type DType } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { externalDataInfo, isExternal, readExternalBytes, type ExternalSources } from './external.js';

/** The TensorProto fields that can hold a payload. */
export type PayloadField = 'rawData' | 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data' | 'stringData';

const typedFields = ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data', 'stringData'] as const;
type TypedField = (typeof typedFields)[number];

const onnxFieldName: Record<PayloadField, string> = {
  rawData: 'raw_data',
  floatData: 'float_data',
  int32Data: 'int32_data',
  int64Data: 'int64_data',
  doubleData: 'double_data',
  uint64Data: 'uint64_data',
  stringData: 'string_data',
};

/** The typed field the ONNX spec assigns to a dtype. */
export function typedFieldFor(dtype: DType): TypedField {
  switch (dtype) {
    case 'float32':
    case 'complex64':
      return 'floatData';
    case 'int64':
      return 'int64Data';
    case 'float64':
    case 'complex128':
      return 'doubleData';
    case 'uint32':
    case 'uint64':
      return 'uint64Data';
    case 'string':
      return 'stringData';
    default:
      return 'int32Data';
  }
}

/** Number of entries the typed field holds for `count` elements. */
function typedEntryCount(dtype: DType, count: number): number {
  const bits = dtypeTraits(dtype).bits;
  if (dtype === 'complex64' || dtype === 'complex128') return 2 * count;
  if (bits > 0 && bits < 8) return byteLength(dtype, count); // one packed byte per int32 entry
  return count;
}

/** How and where a checked TensorProto stores its elements. */
export interface TensorLayout {
  readonly dtype: DType;
  readonly shape: number[];
  readonly count: number;
  /** Where the payload is: a field, 'external', or 'none' (zero elements and no field set). */
  readonly storage: PayloadField | 'external' | 'none';
}

export interface TensorDecodeOptions extends ExternalSources {
  /** The model file, named in errors. */
  readonly file?: string | undefined;
  /** Where the tensor sits, for error messages (e.g. "Constant node 'c1' in If_0/then_branch"). */
  readonly where?: string | undefined;
}

function labelOf(tp: TensorProto, where: string | undefined): string {
  const name = tp.name ? `tensor '${tp.name}'` : 'unnamed tensor';
  return where ? `${name} (${where})` : name;
}

/**
 * Checks a TensorProto without copying its payload: known data_type, dims
 * that are non-negative safe integers, exactly one payload field whose size
 * matches dims x dtype. External tensors are checked for a well-formed
 * reference only (the file is not read).
 */
export function checkTensorProto(tp: TensorProto, opts: TensorDecodeOptions = {}): TensorLayout {
  const label = labelOf(tp, opts.where);
  const file = opts.file;
  const dtype = dtypeFromOnnx(tp.dataType);
  if (dtype === undefined) {
    fail(
      tp.dataType === 0 ? 'E_CORRUPT' : 'E_UNSUPPORTED',
      `${label}: data_type ${tp.dataType} is ${tp.dataType === 0 ? 'UNDEFINED' : 'not a known ONNX data type'}`,
      file,
    );
  }
  const shape: number[] = [];
  let count = 1;
  for (const d of tp.dims) {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER))
      fail('E_CORRUPT', `${label}: dims [${tp.dims.join(',')}] has invalid dimension ${d}`, file);
    shape.push(Number(d));
    count *= Number(d);
  }
  if (!Number.isSafeInteger(count)) fail('E_CORRUPT', `${label}: dims [${tp.dims.join(',')}] hold more than 2^53 elements`, file);
  if (tp.segment !== undefined) fail('E_UNSUPPORTED', `${label}: segmented tensors (TensorProto.segment) are not supported`, file);

  const present: PayloadField[] = [];
  if (isFieldSet(tp, TensorProtoSchema.field.rawData)) present.push('rawData');
  for (const f of typedFields) if (tp[f].length > 0) present.push(f);
  if (present.length > 1) fail('E_CORRUPT', `${label}: payload in both ${present.map((f) => onnxFieldName[f]).join(' and ')}`, file);

  if (isExternal(tp)) {
    if (present.length > 0) fail('E_CORRUPT', `${label}: data_location is EXTERNAL but ${onnxFieldName[present[0]!]} is also set`, file);
    if (dtype === 'string') fail('E_CORRUPT', `${label}: string tensors cannot be stored externally`, file);
    const info = externalDataInfo(tp, label, file);
    const want = byteLength(dtype, count);
    if (info.length !== undefined && info.length !== want)
      fail('E_CORRUPT', `${label}: external_data length ${info.length} but the tensor needs ${want} bytes`, file);
    return { dtype, shape, count, storage: 'external' };
  }
  const field = present[0];
  if (field === undefined) {
    if (count !== 0) fail('E_CORRUPT', `${label}: ${dtype}[${shape.join(',')}] has ${count} elements but no data`, file);
    return { dtype, shape, count, storage: 'none' };
  }
  if (field === 'rawData') {
    if (dtype === 'string') fail('E_CORRUPT', `${label}: string tensor stored in raw_data (must use string_data)`, file);
    const want = byteLength(dtype, count);
    if (tp.rawData.byteLength !== want) {
      fail('E_CORRUPT', `${label}: raw_data has ${tp.rawData.byteLength} bytes but ${dtype}[${shape.join(',')}] needs ${want}`, file);
    }
    return { dtype, shape, count, storage: field };
  }
  if (typedFieldFor(dtype) !== field) fail('E_CORRUPT', `${label}: ${onnxFieldName[field]} cannot hold data_type ${dtype}`, file);
  const want = typedEntryCount(dtype, count);
  if (tp[field].length !== want) {
    fail(
      'E_CORRUPT',
      `${label}: ${onnxFieldName[field]} has ${tp[field].length} entries but ${dtype}[${shape.join(',')}] needs ${want}`,
      file,
    );
  }
  return { dtype, shape, count, storage: field };
}

/** Raw little-endian bytes of a typed field's values for `dtype`. */
function typedToBytes(tp: TensorProto, field: TypedField, dtype: DType): Uint8Array {
  switch (field) {
    case 'floatData':
      return new Uint8Array(Float32Array.from(tp.floatData).buffer);
    case 'doubleData':
      return new Uint8Array(Float64Array.from(tp.doubleData).buffer);
    case 'int64Data':
      return new Uint8Array(BigInt64Array.from(tp.int64Data).buffer);
    case 'uint64Data':
      return dtype === 'uint32'
        ? new Uint8Array(Uint32Array.from(tp.uint64Data, (v) => Number(BigInt.asUintN(32, v))).buffer)
        : new Uint8Array(BigUint64Array.from(tp.uint64Data, (v) => BigInt.asUintN(64, v)).buffer);
    case 'int32Data': {
      const bits = dtypeTraits(dtype).bits;
      if (bits === 32) return new Uint8Array(Int32Array.from(tp.int32Data).buffer);
      if (bits === 16) return new Uint8Array(Uint16Array.from(tp.int32Data, (v) => v & 0xffff).buffer);
      return Uint8Array.from(tp.int32Data, (v) => v & 0xff); // 8-bit types, and packed bytes of 4-/2-bit types
    }
    case 'stringData':
      return new Uint8Array(0);
  }
}

/**
 * The tensor a TensorProto holds. `opts` may be the model file name (named
 * in errors) or options with loaders for external data. A raw_data payload
 * is returned as a view into the proto (no copy): treat it as read-only.
 */
export function tensorFromProto(tp: TensorProto, opts: string | TensorDecodeOptions = {}): Tensor {
  const o: TensorDecodeOptions = typeof opts === 'string' ? { file: opts } : opts;
  const layout = checkTensorProto(tp, o);
  const { dtype, shape, count } = layout;
  switch (layout.storage) {
    case 'none':
      return dtype === 'string' ? { dtype, shape, data: new Uint8Array(0), strings: [] } : { dtype, shape, data: new Uint8Array(0) };
    case 'external': {
      const label = labelOf(tp, o.where);
      const info = externalDataInfo(tp, label, o.file);
      return { dtype, shape, data: readExternalBytes(info, byteLength(dtype, count), label, o, o.file) };
    }
    case 'rawData':
      return { dtype, shape, data: tp.rawData };
    case 'stringData':
      return { dtype, shape, data: new Uint8Array(0), strings: tp.stringData };
    default:
      return { dtype, shape, data: typedToBytes(tp, layout.storage, dtype) };
  }
}

export interface TensorEncodeOptions {
  /**
   * 'raw' (default) stores numbers in raw_data, as onnxruntime and the
   * PyTorch exporter do; 'typed' uses the typed field the spec assigns to the
   * dtype (float_data, int32_data, ...). String tensors always use string_data.
   * Typed float fields hold JS numbers: NaN sign and payload are kept, but a
   * signaling NaN comes back quieted (the float32 -> double conversion sets
   * the quiet bit); raw storage keeps every bit.
   */
  readonly storage?: 'raw' | 'typed';
}

function asArrayBufferBytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b.buffer instanceof ArrayBuffer ? (b as Uint8Array<ArrayBuffer>) : new Uint8Array(b);
}

/** Little-endian element view of raw tensor bytes (copies when unaligned). */
function view<T>(data: Uint8Array, bytesPer: number, ctor: new (b: ArrayBuffer, o: number, n: number) => T): T {
  const b = data.byteOffset % bytesPer === 0 && data.buffer instanceof ArrayBuffer ? data : new Uint8Array(data);
  return new ctor(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / bytesPer);
}

/**
 * `values` as a JS array that keeps NaN sign and payload bits: V8 stores
 * arrays of plain doubles in a form that canonicalizes NaN, but not arrays
 * that started out holding an object, whose numbers stay boxed as they are.
 */
function numbersKeepingNaNBits(values: ArrayLike<number>): number[] {
  const out: unknown[] = [null];
  out.length = 0;
  for (let i = 0; i < values.length; i++) out.push(values[i]);
  return out as number[];
}

/** Fills the typed field for `t` in `tp`. */
function bytesToTyped(tp: TensorProto, t: Tensor): void {
  const d = t.data;
  const field = typedFieldFor(t.dtype);
  const bits = dtypeTraits(t.dtype).bits;
  switch (field) {
    case 'floatData':
      tp.floatData = numbersKeepingNaNBits(view(d, 4, Float32Array));
      break;
    case 'doubleData':
      tp.doubleData = numbersKeepingNaNBits(view(d, 8, Float64Array));
      break;
    case 'int64Data':
      tp.int64Data = Array.from(view(d, 8, BigInt64Array));
      break;
    case 'uint64Data':
      tp.uint64Data = t.dtype === 'uint32' ? Array.from(view(d, 4, Uint32Array), (v) => BigInt(v)) : Array.from(view(d, 8, BigUint64Array));
      break;
    case 'stringData':
      tp.stringData = (t.strings ?? []).map(asArrayBufferBytes);
      break;
    case 'int32Data':
      if (bits === 32) tp.int32Data = Array.from(view(d, 4, Int32Array));
      else if (t.dtype === 'int16') tp.int32Data = Array.from(view(d, 2, Int16Array));
      else if (bits === 16) tp.int32Data = Array.from(view(d, 2, Uint16Array));
      else if (t.dtype === 'int8') tp.int32Data = Array.from(new Int8Array(d.buffer, d.byteOffset, d.byteLength));
      else tp.int32Data = Array.from(d);
      break;
  }
}

/** A TensorProto named `name` ('' = no name field) holding `t`. The payload bytes are shared, not copied, with 'raw' storage. */
export function tensorToProto(name: string, t: Tensor, opts: TensorEncodeOptions = {}): TensorProto {
  const tp = create(TensorProtoSchema, { dims: t.shape.map((s) => BigInt(s)), dataType: dtypeToOnnx(t.dtype) });
  if (name) tp.name = name; // an unnamed tensor has no name field at all
  if (t.dtype === 'string') {
    tp.stringData = (t.strings ?? []).map(asArrayBufferBytes);
    return tp;
  }
  const want = byteLength(
    t.dtype,
    t.shape.reduce((a, b) => a * b, 1),
  );
  if (t.data.byteLength !== want)
    fail('E_SHAPE', `tensor '${name}': ${t.dtype}[${t.shape.join(',')}] needs ${want} bytes, got ${t.data.byteLength}`);
  if ((opts.storage ?? 'raw') === 'raw') tp.rawData = asArrayBufferBytes(t.data);
  else bytesToTyped(tp, t);
  return tp;
}

/** The ONNX name of a payload field (for messages). */
export function payloadFieldName(f: PayloadField): string {
  return onnxFieldName[f];
}
