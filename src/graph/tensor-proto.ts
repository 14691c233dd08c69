/**
 * TensorProto helpers for graph building: make an initializer from a typed
 * array or plain numbers, read one back as numbers. Both go through the
 * full ONNX tensor codec in src/formats/onnx/tensor-proto.ts; this file only
 * adds the number conversions the builder and the trainer want.
 */
import type { TensorProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { dtypeTraits } from '../core/dtypes.js';
import { makeTensor, toFloat32, typedView } from '../core/tensor.js';
import { tensorFromProto, tensorToProto } from '../formats/onnx/tensor-proto.js';

/** Element types the graph builder makes constants of. */
export type GraphDType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'int8' | 'uint8';

const GRAPH_DTYPES: readonly GraphDType[] = ['float32', 'float64', 'int64', 'int32', 'bool', 'int8', 'uint8'];

export const ONNX_DTYPE = Object.fromEntries(GRAPH_DTYPES.map((d) => [d, dtypeTraits(d).onnx])) as Record<GraphDType, number>;

const FROM_ONNX = new Map<number, GraphDType>(GRAPH_DTYPES.map((d) => [ONNX_DTYPE[d], d]));

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
  const nums = values as ArrayLike<number>;
  let typed: ArrayBufferView;
  switch (dtype) {
    case 'float32':
      typed = values instanceof Float32Array ? values : Float32Array.from(nums);
      break;
    case 'float64':
      typed = values instanceof Float64Array ? values : Float64Array.from(nums);
      break;
    case 'int64':
      typed = values instanceof BigInt64Array ? values : BigInt64Array.from(Array.from(nums, (v) => BigInt(Math.trunc(Number(v)))));
      break;
    case 'int32':
      typed = values instanceof Int32Array ? values : Int32Array.from(nums);
      break;
    case 'int8':
      typed = values instanceof Int8Array ? values : Int8Array.from(nums);
      break;
    case 'uint8':
      typed = values instanceof Uint8Array ? values : Uint8Array.from(nums);
      break;
    case 'bool':
      typed = Uint8Array.from(nums, (v) => (v ? 1 : 0));
      break;
  }
  // a copy: the proto must not alias the caller's array
  const bytes = new Uint8Array(typed.buffer.slice(typed.byteOffset, typed.byteOffset + typed.byteLength));
  return tensorToProto(name, makeTensor(dtype, shape, bytes));
}

export function tensorProtoShape(t: TensorProto): number[] {
  return t.dims.map(Number);
}

/**
 * Values of a numeric TensorProto as float64 numbers (int64 converted with
 * Number), from whichever field holds them. Throws E_UNSUPPORTED for
 * external data and strings, E_CORRUPT when the payload disagrees with dims.
 */
export function readTensorProtoNumbers(t: TensorProto): Float64Array {
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    throw new ModelpressError('E_UNSUPPORTED', `tensor ${t.name}: external data must be loaded before graph building`);
  }
  const tensor = tensorFromProto(t);
  switch (tensor.dtype) {
    case 'string':
      throw new ModelpressError('E_UNSUPPORTED', `tensor ${t.name}: string tensors have no numbers`);
    // bit patterns and packed nibbles: decoded (exactly) through float32
    case 'float16':
    case 'bfloat16':
    case 'int4':
    case 'uint4':
      return Float64Array.from(toFloat32(tensor));
    default:
      return Float64Array.from(typedView(tensor) as ArrayLike<number | bigint>, Number);
  }
}

/** Float32 values of a numeric tensor (float64 narrowed). */
export function readTensorProtoFloat32(t: TensorProto): Float32Array {
  return Float32Array.from(readTensorProtoNumbers(t));
}
