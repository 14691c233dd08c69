/**
 * The dtypes modelpress knows, with their traits in one table: ONNX enum,
 * bits per element, and the names other formats use for them.
 * Sub-byte types are packed two (4-bit) per byte, first element in the low
 * nibble (ONNX order).
 */

export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'int4'
  | 'uint4'
  | 'string'
  | 'complex64'
  | 'complex128'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'float4e2m1'
  | 'float8e8m0'
  | 'uint2'
  | 'int2';

export interface DTypeTraits {
  readonly name: DType;
  /** TensorProto.DataType value. */
  readonly onnx: number;
  /** Bits per element in packed storage; 0 for string. */
  readonly bits: number;
  readonly isFloat: boolean;
  readonly isSigned: boolean;
  /** safetensors header name, if safetensors has one. */
  readonly safetensors?: string;
  /** TF.js manifest dtype, if TF.js has one. */
  readonly tfjs?: string;
}

const table: readonly DTypeTraits[] = [
  { name: 'float32', onnx: 1, bits: 32, isFloat: true, isSigned: true, safetensors: 'F32', tfjs: 'float32' },
  { name: 'uint8', onnx: 2, bits: 8, isFloat: false, isSigned: false, safetensors: 'U8' },
  { name: 'int8', onnx: 3, bits: 8, isFloat: false, isSigned: true, safetensors: 'I8' },
  { name: 'uint16', onnx: 4, bits: 16, isFloat: false, isSigned: false, safetensors: 'U16' },
  { name: 'int16', onnx: 5, bits: 16, isFloat: false, isSigned: true, safetensors: 'I16' },
  { name: 'int32', onnx: 6, bits: 32, isFloat: false, isSigned: true, safetensors: 'I32', tfjs: 'int32' },
  { name: 'int64', onnx: 7, bits: 64, isFloat: false, isSigned: true, safetensors: 'I64' },
  { name: 'string', onnx: 8, bits: 0, isFloat: false, isSigned: false, tfjs: 'string' },
  { name: 'bool', onnx: 9, bits: 8, isFloat: false, isSigned: false, safetensors: 'BOOL', tfjs: 'bool' },
  { name: 'float16', onnx: 10, bits: 16, isFloat: true, isSigned: true, safetensors: 'F16' },
  { name: 'float64', onnx: 11, bits: 64, isFloat: true, isSigned: true, safetensors: 'F64' },
  { name: 'uint32', onnx: 12, bits: 32, isFloat: false, isSigned: false, safetensors: 'U32' },
  { name: 'uint64', onnx: 13, bits: 64, isFloat: false, isSigned: false, safetensors: 'U64' },
  { name: 'complex64', onnx: 14, bits: 64, isFloat: true, isSigned: true, safetensors: 'C64', tfjs: 'complex64' },
  { name: 'complex128', onnx: 15, bits: 128, isFloat: true, isSigned: true },
  { name: 'bfloat16', onnx: 16, bits: 16, isFloat: true, isSigned: true, safetensors: 'BF16' },
  { name: 'float8e4m3fn', onnx: 17, bits: 8, isFloat: true, isSigned: true, safetensors: 'F8_E4M3' },
  { name: 'float8e4m3fnuz', onnx: 18, bits: 8, isFloat: true, isSigned: true },
  { name: 'float8e5m2', onnx: 19, bits: 8, isFloat: true, isSigned: true, safetensors: 'F8_E5M2' },
  { name: 'float8e5m2fnuz', onnx: 20, bits: 8, isFloat: true, isSigned: true },
  { name: 'uint4', onnx: 21, bits: 4, isFloat: false, isSigned: false },
  { name: 'int4', onnx: 22, bits: 4, isFloat: false, isSigned: true },
  { name: 'float4e2m1', onnx: 23, bits: 4, isFloat: true, isSigned: true, safetensors: 'F4' },
  { name: 'float8e8m0', onnx: 24, bits: 8, isFloat: true, isSigned: false, safetensors: 'F8_E8M0' },
  { name: 'uint2', onnx: 25, bits: 2, isFloat: false, isSigned: false },
  { name: 'int2', onnx: 26, bits: 2, isFloat: false, isSigned: true },
];

const byName = new Map<DType, DTypeTraits>(table.map((t) => [t.name, t]));
const byOnnx = new Map<number, DTypeTraits>(table.map((t) => [t.onnx, t]));
const bySafetensors = new Map<string, DTypeTraits>(table.filter((t) => t.safetensors).map((t) => [t.safetensors!, t]));

export const DTYPES: readonly DTypeTraits[] = table;

/**
 * ONNX TensorProto.DataType values by dtype name (`ONNX_TYPE.float32 === 1`),
 * read off the table above: code that builds or inspects ONNX element types
 * names them through this instead of writing the numbers.
 */
export const ONNX_TYPE: { readonly [K in DType]: number } = Object.freeze(
  Object.fromEntries(table.map((t) => [t.name, t.onnx])) as { [K in DType]: number },
);

export function dtypeTraits(d: DType): DTypeTraits {
  const t = byName.get(d);
  if (!t) throw new Error(`unknown dtype ${String(d)}`);
  return t;
}

export function isDType(s: string): s is DType {
  return byName.has(s as DType);
}

/** The dtype of an ONNX TensorProto.DataType value, or undefined if unknown. */
export function dtypeFromOnnx(v: number): DType | undefined {
  return byOnnx.get(v)?.name;
}

export function dtypeToOnnx(d: DType): number {
  return dtypeTraits(d).onnx;
}

export function dtypeFromSafetensors(s: string): DType | undefined {
  return bySafetensors.get(s)?.name;
}

/** Bytes needed to store `count` elements (sub-byte types packed, rounded up). */
export function byteLength(d: DType, count: number): number {
  const bits = dtypeTraits(d).bits;
  if (bits === 0) throw new Error('string tensors have no fixed byte length');
  return Math.ceil((count * bits) / 8);
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}
