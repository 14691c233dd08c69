/**
 * NumPy .npy arrays (format versions 1.0–3.0): magic `\x93NUMPY`, version,
 * a header length (uint16 LE in v1, uint32 LE in v2/3), a Python dict literal
 * with descr/fortran_order/shape, then the C-order data.
 */
import { elementCount, type DType } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import { makeTensor, type Tensor } from '../../core/tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** NumPy descr (without byte-order mark) → dtype. */
const DESCR: Record<string, DType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  u1: 'uint8',
  i1: 'int8',
  u2: 'uint16',
  i2: 'int16',
  u4: 'uint32',
  i4: 'int32',
  u8: 'uint64',
  i8: 'int64',
  b1: 'bool',
};

/** Parses one .npy file into a Tensor (little-endian bytes, C order). */
export function parseNpy(bytes: Uint8Array, file?: string): Tensor {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('E_FORMAT', 'not a .npy file: missing the \\x93NUMPY magic', file);
  const major = bytes[6]!;
  if (major < 1 || major > 3)
    fail('E_UNSUPPORTED', `.npy format version ${major}.${bytes[7]} (offset 6); versions 1-3 are supported`, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart)
    fail('E_TRUNCATED', `.npy header length field needs ${headerStart} bytes, file has ${bytes.length}`, file);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart)
    fail('E_TRUNCATED', `.npy header declares ${headerLength} bytes at offset ${headerStart}, file has ${bytes.length}`, file);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail('E_CORRUPT', `.npy header is missing descr, fortran_order or shape: ${header.trim()}`, file);
  if (fortran === 'True') fail('E_UNSUPPORTED', '.npy array is in Fortran (column-major) order; save it with np.ascontiguousarray', file);
  const order = descr[0];
  const code = order === '<' || order === '|' || order === '=' ? descr.slice(1) : order === '>' ? undefined : descr;
  if (code === undefined)
    fail('E_UNSUPPORTED', `.npy dtype '${descr}' is big-endian; convert it with arr.astype('<${descr.slice(1)}')`, file);
  const dtype = DESCR[code];
  if (!dtype) fail('E_UNSUPPORTED', `.npy dtype '${descr}' is not one of float16/32/64, (u)int8-64, bool`, file);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length)
    .map((s) => {
      const d = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(d) || d < 0) fail('E_CORRUPT', `.npy shape entry '${s}' is not a dimension`, file);
      return d;
    });
  const itemSize = Number(code.slice(1));
  const want = elementCount(shape) * itemSize;
  if (!Number.isSafeInteger(want))
    fail('E_SHAPE', `.npy ${descr}(${shape.join(', ')}) overflows: the element count times ${itemSize} bytes is not a size`, file);
  const have = bytes.length - dataStart;
  if (have < want)
    fail('E_TRUNCATED', `.npy ${descr}(${shape.join(', ')}) needs ${want} data bytes at offset ${dataStart}, file has ${have}`, file);
  if (have > want) fail('E_CORRUPT', `.npy ${descr}(${shape.join(', ')}) needs ${want} data bytes, file has ${have - want} more`, file);
  // A copy into a buffer of its own (Buffer#slice would share, at whatever offset the member sat in the file):
  // the elements then start at offset 0, aligned for any typed view.
  return makeTensor(dtype, shape, new Uint8Array(bytes.subarray(dataStart)));
}

/** Encodes a Tensor as .npy v1.0 (tests, and saving small arrays). */
export function encodeNpy(t: Tensor): Uint8Array {
  const descr = Object.entries(DESCR).find(([, d]) => d === t.dtype)?.[0];
  if (!descr) throw new Error(`no .npy dtype for ${t.dtype}`);
  const order = descr.endsWith('1') ? '|' : '<';
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${order}${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + t.data.length);
  out.set(MAGIC);
  out[6] = 1;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(t.data, 10 + header.length);
  return out;
}
