/**
 * Small TensorProto helpers for graph building: make an initializer from a
 * typed array, read one back as numbers. (The full reader with external data
 * and every dtype lives in src/formats/onnx/.)
 */
import { create } from '@bufbuild/protobuf';
import { TensorProtoSchema, TensorProto_DataType, type TensorProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';

/** Element types the graph builder makes constants of. */
export type GraphDType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'int8' | 'uint8';

export const ONNX_DTYPE: Record<GraphDType, number> = {
  float32: TensorProto_DataType.FLOAT,
  float64: TensorProto_DataType.DOUBLE,
  int64: TensorProto_DataType.INT64,
  int32: TensorProto_DataType.INT32,
  bool: TensorProto_DataType.BOOL,
  int8: TensorProto_DataType.INT8,
  uint8: TensorProto_DataType.UINT8,
};

const FROM_ONNX = new Map<number, GraphDType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as GraphDType]));

/** The GraphDType of an ONNX elem type, or undefined for types the builder does not make. */
export function graphDTypeFromOnnx(elemType: number): GraphDType | undefined {
  return FROM_ONNX.get(elemType);
}

export type TensorValues = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | readonly number[];

/** A TensorProto with raw little-endian data. `values` as plain numbers are converted to `dtype`. */
export function makeTensorProto(name: string, dtype: GraphDType, shape: readonly number[], values: TensorValues): TensorProto {
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new ModelpressError('E_SHAPE', `tensor ${name}: shape [${shape.join(',')}] needs ${count} values, got ${values.length}`);
  }
  let raw: Uint8Array;
  switch (dtype) {
    case 'float32': raw = bytesOf(values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>)); break;
    case 'float64': raw = bytesOf(values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>)); break;
    case 'int64': raw = bytesOf(values instanceof BigInt64Array ? values : BigInt64Array.from(Array.from(values as ArrayLike<number>, (v) => BigInt(Math.trunc(Number(v)))))); break;
    case 'int32': raw = bytesOf(values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>)); break;
    case 'int8': raw = bytesOf(values instanceof Int8Array ? values : Int8Array.from(values as ArrayLike<number>)); break;
    case 'uint8':
    case 'bool': raw = bytesOf(values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (v) => (dtype === 'bool' ? (v ? 1 : 0) : v))); break;
  }
  return create(TensorProtoSchema, { name, dataType: ONNX_DTYPE[dtype], dims: shape.map((d) => BigInt(d)), rawData: raw as Uint8Array<ArrayBuffer> });
}

function bytesOf(a: ArrayBufferView): Uint8Array<ArrayBuffer> {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength) as ArrayBuffer);
}

export function tensorProtoShape(t: TensorProto): number[] {
  return t.dims.map(Number);
}

/**
 * Values of a float/double/int TensorProto as float64 numbers (int64 converted
 * with Number). Throws E_UNSUPPORTED for external data or other dtypes.
 */
export function readTensorProtoNumbers(t: TensorProto): Float64Array {
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    throw new ModelpressError('E_UNSUPPORTED', `tensor ${t.name}: external data must be loaded before graph building`);
  }
  const count = t.dims.reduce((a, b) => a * Number(b), 1);
  const dtype = graphDTypeFromOnnx(t.dataType);
  const out = new Float64Array(count);
  const raw = t.rawData;
  if (raw.byteLength > 0) {
    const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    let view: ArrayLike<number | bigint>;
    switch (dtype) {
      case 'float32': view = new Float32Array(buf); break;
      case 'float64': view = new Float64Array(buf); break;
      case 'int64': view = new BigInt64Array(buf); break;
      case 'int32': view = new Int32Array(buf); break;
      case 'int8': view = new Int8Array(buf); break;
      case 'uint8':
      case 'bool': view = new Uint8Array(buf); break;
      default: throw new ModelpressError('E_UNSUPPORTED', `tensor ${t.name}: dtype ${t.dataType} not readable here`);
    }
    if (view.length !== count) throw new ModelpressError('E_CORRUPT', `tensor ${t.name}: raw data holds ${view.length} elements, dims say ${count}`);
    for (let i = 0; i < count; i++) out[i] = Number(view[i]);
    return out;
  }
  const src: ArrayLike<number | bigint> =
    dtype === 'float32' ? t.floatData : dtype === 'float64' ? t.doubleData : dtype === 'int64' ? t.int64Data : t.int32Data;
  if (src.length !== count) throw new ModelpressError('E_CORRUPT', `tensor ${t.name}: holds ${src.length} elements, dims say ${count}`);
  for (let i = 0; i < count; i++) out[i] = Number(src[i]);
  return out;
}

/** Float32 values of a float tensor (float64 narrowed). */
export function readTensorProtoFloat32(t: TensorProto): Float32Array {
  return Float32Array.from(readTensorProtoNumbers(t));
}
