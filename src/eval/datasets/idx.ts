/**
 * IDX files (the MNIST / Fashion-MNIST container): a 4-byte magic
 * `00 00 <dtype> <ndim>`, `ndim` big-endian uint32 dimensions, then the
 * elements in row-major order, big-endian. Browser-safe: bytes in, arrays out.
 */
import { fail } from '../../core/errors.js';

/** IDX element type codes (third magic byte). */
const IDX_TYPES = {
  8: { name: 'uint8', size: 1 },
  9: { name: 'int8', size: 1 },
  11: { name: 'int16', size: 2 },
  12: { name: 'int32', size: 4 },
  13: { name: 'float32', size: 4 },
  14: { name: 'float64', size: 8 },
} as const;

export type IdxDType = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['name'];

export interface IdxArray {
  readonly dtype: IdxDType;
  readonly shape: readonly number[];
  /** Elements in native (host) order: Uint8Array for uint8, else the matching typed array. */
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** True when `bytes` starts with a gzip header (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses an (uncompressed) IDX file, validating the magic, the dimensions and the length. */
export function parseIdx(bytes: Uint8Array, file?: string): IdxArray {
  if (isGzip(bytes)) fail('E_FORMAT', 'IDX data is still gzip-compressed; decompress it first', file);
  if (bytes.length < 4) fail('E_TRUNCATED', `IDX header needs 4 bytes, file has ${bytes.length}`, file);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    fail('E_FORMAT', `not an IDX file: magic bytes 0-1 are ${hex(bytes[0]!)} ${hex(bytes[1]!)}, expected 00 00`, file);
  const type = IDX_TYPES[bytes[2]! as keyof typeof IDX_TYPES];
  if (!type) fail('E_UNSUPPORTED', `IDX element type 0x${hex(bytes[2]!)} at offset 2 is not one of 08 09 0b 0c 0d 0e`, file);
  const ndim = bytes[3]!;
  if (ndim === 0) fail('E_CORRUPT', 'IDX header declares 0 dimensions (offset 3)', file);
  const headerLength = 4 + 4 * ndim;
  if (bytes.length < headerLength)
    fail('E_TRUNCATED', `IDX header with ${ndim} dimensions needs ${headerLength} bytes, file has ${bytes.length}`, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const want = headerLength + count * type.size;
  if (!Number.isSafeInteger(want)) fail('E_CORRUPT', `IDX dimensions [${shape.join(', ')}] overflow`, file);
  if (bytes.length < want) fail('E_TRUNCATED', `IDX ${type.name}[${shape.join(', ')}] needs ${want} bytes, file has ${bytes.length}`, file);
  if (bytes.length > want)
    fail('E_CORRUPT', `IDX ${type.name}[${shape.join(', ')}] needs ${want} bytes, file has ${bytes.length - want} trailing bytes`, file);
  return { dtype: type.name, shape, data: decodeElements(view, headerLength, count, type.name) };
}

function decodeElements(view: DataView, offset: number, count: number, dtype: IdxDType): IdxArray['data'] {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, count * IDX_TYPES[dtypeCode(dtype)].size);
  switch (dtype) {
    case 'uint8':
      return bytes.slice();
    case 'int8':
      return new Int8Array(bytes.slice().buffer);
    case 'int16':
      return Int16Array.from({ length: count }, (_, i) => view.getInt16(offset + 2 * i, false));
    case 'int32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(offset + 4 * i, false));
    case 'float32':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(offset + 4 * i, false));
    case 'float64':
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(offset + 8 * i, false));
  }
}

function dtypeCode(dtype: IdxDType): keyof typeof IDX_TYPES {
  for (const [code, t] of Object.entries(IDX_TYPES)) if (t.name === dtype) return Number(code) as keyof typeof IDX_TYPES;
  throw new Error(`unknown IDX dtype ${dtype}`);
}

/** Encodes an IDX file (used by tests and to write small datasets). */
export function encodeIdx(array: IdxArray): Uint8Array {
  const code = dtypeCode(array.dtype);
  const size = IDX_TYPES[code].size;
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (array.data.length !== count)
    throw new Error(`IDX data has ${array.data.length} elements, shape [${array.shape.join(', ')}] needs ${count}`);
  const header = 4 + 4 * array.shape.length;
  const out = new Uint8Array(header + count * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = array.shape.length;
  array.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const v = array.data[i]!;
    const at = header + i * size;
    switch (array.dtype) {
      case 'uint8':
        view.setUint8(at, v);
        break;
      case 'int8':
        view.setInt8(at, v);
        break;
      case 'int16':
        view.setInt16(at, v, false);
        break;
      case 'int32':
        view.setInt32(at, v, false);
        break;
      case 'float32':
        view.setFloat32(at, v, false);
        break;
      case 'float64':
        view.setFloat64(at, v, false);
        break;
    }
  }
  return out;
}

/** An image/label pair set as Fashion-MNIST and MNIST ship it. */
export interface ImageDataset {
  /** Pixels, `count * rows * cols` bytes, row-major, 0 = background. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
}

/** Pairs an idx3 uint8 image file with an idx1 uint8 label file, checking that they agree. */
export function imageDatasetFromIdx(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  files: { images?: string; labels?: string } = {},
): ImageDataset {
  const images = parseIdx(imageBytes, files.images);
  const labels = parseIdx(labelBytes, files.labels);
  if (images.dtype !== 'uint8' || images.shape.length !== 3)
    fail('E_FORMAT', `expected uint8 images [count, rows, cols], found ${images.dtype}[${images.shape.join(', ')}]`, files.images);
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1)
    fail('E_FORMAT', `expected uint8 labels [count], found ${labels.dtype}[${labels.shape.join(', ')}]`, files.labels);
  const [count, rows, cols] = images.shape as [number, number, number];
  if (labels.shape[0] !== count)
    fail('E_SHAPE', `${count} images but ${labels.shape[0]} labels${files.labels ? ` in ${files.labels}` : ''}`, files.images);
  return { images: images.data as Uint8Array, labels: labels.data as Uint8Array, count, rows, cols };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
